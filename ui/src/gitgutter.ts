// The editor's gutter of lines changed against HEAD: added (green bar), modified (amber bar),
// deleted (a red wedge where lines went). The chunks come from @codemirror/merge's diff and are
// updated incrementally as the file is edited, so the marks follow typing.
import { Chunk } from "@codemirror/merge";
import { RangeSet, StateField, type Extension, type Range, type Text } from "@codemirror/state";
import { gutter, GutterMarker } from "@codemirror/view";

class Mark extends GutterMarker {
  constructor(readonly kind: "added" | "modified" | "deleted") {
    super();
  }
  toDOM(): Node {
    const e = document.createElement("div");
    e.className = `cm-git-${this.kind}`;
    return e;
  }
}
const MARK = { added: new Mark("added"), modified: new Mark("modified"), deleted: new Mark("deleted") };

function marks(chunks: readonly Chunk[], doc: Text): RangeSet<GutterMarker> {
  const out: Range<GutterMarker>[] = [];
  for (const c of chunks) {
    if (c.fromB === c.toB) {
      out.push(MARK.deleted.range(doc.lineAt(Math.min(c.fromB, doc.length)).from));
      continue;
    }
    const mark = c.fromA === c.toA ? MARK.added : MARK.modified;
    const last = doc.lineAt(Math.min(c.endB, doc.length)).number;
    for (let n = doc.lineAt(c.fromB).number; n <= last; n++) out.push(mark.range(doc.line(n).from));
  }
  return RangeSet.of(out, true);
}

/** The gutter for a file whose HEAD version is `base`. */
export function changeGutter(base: Text): Extension {
  const field = StateField.define<{ chunks: readonly Chunk[]; marks: RangeSet<GutterMarker> }>({
    create: (state) => {
      const chunks = Chunk.build(base, state.doc);
      return { chunks, marks: marks(chunks, state.doc) };
    },
    update: (value, tr) => {
      if (!tr.docChanged) return value;
      const chunks = Chunk.updateB(value.chunks, base, tr.state.doc, tr.changes);
      return { chunks, marks: marks(chunks, tr.state.doc) };
    },
  });
  return [field, gutter({ class: "cm-git-gutter", markers: (v) => v.state.field(field).marks })];
}
