import { languageExtension, languageFor } from "./languages";

test("every supported language is recognised", () => {
  const cases: [string, string][] = [
    ["a.js", "javascript"], ["a.mjs", "javascript"], ["a.jsx", "jsx"], ["a.ts", "typescript"],
    ["a.tsx", "tsx"], ["a.json", "json"], ["index.html", "html"], ["a.css", "css"],
    ["README.md", "markdown"], ["a.py", "python"], ["main.rs", "rust"], ["main.go", "go"],
    ["ci.yml", "yaml"], ["a.yaml", "yaml"], ["Cargo.toml", "toml"], ["run.sh", "shell"],
    ["src/deep/App.TSX", "tsx"], ["notes.txt", "plain"], ["Makefile", "shell"],
  ];
  for (const [path, lang] of cases) expect(languageFor(path), path).toBe(lang);
});

test("a shebang decides for files without an extension", () => {
  expect(languageFor("bin/tool", "#!/usr/bin/env bash")).toBe("shell");
  expect(languageFor("bin/tool", "#!/usr/bin/env python3")).toBe("python");
  expect(languageFor("bin/tool", "#!/usr/bin/env node")).toBe("javascript");
});

test("language packages load for every id", async () => {
  for (const id of ["javascript", "tsx", "json", "html", "css", "markdown", "python", "rust", "go", "yaml", "toml", "shell"] as const) {
    const ext = await languageExtension(id);
    expect(ext, id).toBeTruthy();
  }
});
