// Which CodeMirror language a file gets, by name. Language packages load lazily.
import type { Extension } from "@codemirror/state";

export type LanguageId =
  | "javascript" | "jsx" | "typescript" | "tsx" | "json" | "html" | "css" | "markdown"
  | "python" | "rust" | "go" | "yaml" | "toml" | "shell" | "plain";

const BY_EXTENSION: Record<string, LanguageId> = {
  js: "javascript", mjs: "javascript", cjs: "javascript", jsx: "jsx",
  ts: "typescript", mts: "typescript", cts: "typescript", tsx: "tsx",
  json: "json", jsonc: "json", json5: "json",
  html: "html", htm: "html", vue: "html", svelte: "html",
  css: "css", scss: "css", less: "css",
  md: "markdown", markdown: "markdown", mdx: "markdown",
  py: "python", pyi: "python",
  rs: "rust", go: "go",
  yaml: "yaml", yml: "yaml",
  toml: "toml",
  sh: "shell", bash: "shell", zsh: "shell", ksh: "shell",
};

const BY_NAME: Record<string, LanguageId> = {
  "Cargo.lock": "toml", ".bashrc": "shell", ".profile": "shell", ".zshrc": "shell",
  Dockerfile: "shell", Makefile: "shell", ".env": "shell",
};

export function languageFor(path: string, firstLine = ""): LanguageId {
  const name = path.slice(path.lastIndexOf("/") + 1);
  if (BY_NAME[name]) return BY_NAME[name];
  const dot = name.lastIndexOf(".");
  if (dot > 0) {
    const lang = BY_EXTENSION[name.slice(dot + 1).toLowerCase()];
    if (lang) return lang;
  }
  if (/^#!.*\b(ba|z|k)?sh\b/.test(firstLine)) return "shell";
  if (/^#!.*\bpython/.test(firstLine)) return "python";
  if (/^#!.*\bnode\b/.test(firstLine)) return "javascript";
  return "plain";
}

export async function languageExtension(id: LanguageId): Promise<Extension> {
  switch (id) {
    case "javascript":
    case "jsx":
    case "typescript":
    case "tsx": {
      const { javascript } = await import("@codemirror/lang-javascript");
      return javascript({ jsx: id === "jsx" || id === "tsx", typescript: id.startsWith("t") });
    }
    case "json": return (await import("@codemirror/lang-json")).json();
    case "html": return (await import("@codemirror/lang-html")).html();
    case "css": return (await import("@codemirror/lang-css")).css();
    case "markdown": return (await import("@codemirror/lang-markdown")).markdown();
    case "python": return (await import("@codemirror/lang-python")).python();
    case "rust": return (await import("@codemirror/lang-rust")).rust();
    case "go": return (await import("@codemirror/lang-go")).go();
    case "yaml": return (await import("@codemirror/lang-yaml")).yaml();
    case "toml": {
      const [{ StreamLanguage }, { toml }] = await Promise.all([
        import("@codemirror/language"), import("@codemirror/legacy-modes/mode/toml"),
      ]);
      return StreamLanguage.define(toml);
    }
    case "shell": {
      const [{ StreamLanguage }, { shell }] = await Promise.all([
        import("@codemirror/language"), import("@codemirror/legacy-modes/mode/shell"),
      ]);
      return StreamLanguage.define(shell);
    }
    default: return [];
  }
}
