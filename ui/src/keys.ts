// VS Code-style shortcut strings ("Ctrl+Shift+P") matched against keyboard events.

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

/** Normalizes an event to the shortcut string form, e.g. "Ctrl+Shift+P". Cmd counts as Ctrl. */
export function shortcutOf(e: KeyLike): string {
  const parts: string[] = [];
  if (e.ctrlKey || e.metaKey) parts.push("Ctrl");
  if (e.altKey) parts.push("Alt");
  if (e.shiftKey) parts.push("Shift");
  let key = e.key;
  if (key === " ") key = "Space";
  else if (key.length === 1) key = key.toUpperCase();
  if (!["Control", "Shift", "Alt", "Meta"].includes(key)) parts.push(key);
  return parts.join("+");
}

/** The shortcuts use the unshifted key names; Shift+` arrives as "~", Ctrl+Shift+p as "P". */
const SHIFTED: Record<string, string> = { "~": "`", "?": "/", "+": "=" };

export function matches(shortcut: string, e: KeyLike): boolean {
  const got = shortcutOf(e);
  if (got === shortcut) return true;
  const k = SHIFTED[e.key];
  return !!k && shortcutOf({ ...e, key: k }) === shortcut;
}
