import { fuzzyFilter, fuzzyScore } from "./fuzzy";

test("subsequence matching ranks word starts and runs first", () => {
  expect(fuzzyScore("xyz", "File: Save")).toBeNull();
  expect(fuzzyScore("", "anything")).toBe(0);
  const titles = ["View: Toggle Terminal", "Terminal: New Terminal", "File: Save All", "File: Save"];
  expect(fuzzyFilter("save", titles, (t) => t)).toEqual(["File: Save All", "File: Save"]);
  expect(fuzzyFilter("new term", titles, (t) => t)[0]).toBe("Terminal: New Terminal");
});
