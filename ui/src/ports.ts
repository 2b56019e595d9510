// Dev-server addresses in command or terminal output ("Local: http://localhost:5173/"): the
// ports the preview offers. Here, not in the preview pane, so output is read before it loads.

export function portsInText(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(/https?:\/\/(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1?\]):(\d{1,5})/g)) {
    const p = Number(m[1]);
    if (p > 0 && p < 65536 && !out.includes(p)) out.push(p);
  }
  return out;
}
