import { clamp, DEFAULT_LAYOUT } from "./layout";

test("pane sizes are clamped to usable ranges", () => {
  expect(clamp(10, 140, 800)).toBe(140);
  expect(clamp(5000, 140, 800)).toBe(800);
  expect(clamp(300.4, 140, 800)).toBe(300);
  expect(DEFAULT_LAYOUT.sidebar_visible).toBe(true);
});
