import { basename, dirname, isWithin, join, rebase } from "./paths";

test("path helpers use project-relative '/' paths", () => {
  expect(basename("src/a/b.ts")).toBe("b.ts");
  expect(basename("top.txt")).toBe("top.txt");
  expect(dirname("src/a/b.ts")).toBe("src/a");
  expect(dirname("top.txt")).toBe("");
  expect(join("", "x")).toBe("x");
  expect(join("src", "x")).toBe("src/x");
});

test("isWithin and rebase follow renamed folders, not name prefixes", () => {
  expect(isWithin("src/a.ts", "src")).toBe(true);
  expect(isWithin("src", "src")).toBe(true);
  expect(isWithin("srcx/a.ts", "src")).toBe(false);
  expect(isWithin("anything", "")).toBe(true);
  expect(rebase("src/a.ts", "src", "lib")).toBe("lib/a.ts");
  expect(rebase("srcx/a.ts", "src", "lib")).toBe("srcx/a.ts");
  expect(rebase("src", "src", "lib")).toBe("lib");
});
