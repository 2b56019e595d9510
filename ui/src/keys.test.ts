import { matches, shortcutOf } from "./keys";

const ev = (key: string, mods: Partial<{ ctrl: boolean; shift: boolean; alt: boolean; meta: boolean }> = {}) => ({
  key, ctrlKey: !!mods.ctrl, shiftKey: !!mods.shift, altKey: !!mods.alt, metaKey: !!mods.meta,
});

test("events normalise to VS Code-style shortcut strings", () => {
  expect(shortcutOf(ev("s", { ctrl: true }))).toBe("Ctrl+S");
  expect(shortcutOf(ev("P", { ctrl: true, shift: true }))).toBe("Ctrl+Shift+P");
  expect(shortcutOf(ev("s", { meta: true }))).toBe("Ctrl+S");
  expect(shortcutOf(ev("Control", { ctrl: true }))).toBe("Ctrl");
  expect(shortcutOf(ev("F2"))).toBe("F2");
});

test("shifted punctuation matches its unshifted shortcut", () => {
  expect(matches("Ctrl+Shift+`", ev("~", { ctrl: true, shift: true }))).toBe(true);
  expect(matches("Ctrl+`", ev("`", { ctrl: true }))).toBe(true);
  expect(matches("Ctrl+S", ev("s"))).toBe(false);
  expect(matches("Ctrl+Shift+P", ev("p", { ctrl: true }))).toBe(false);
});
