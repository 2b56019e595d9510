import { describe, expect, it } from "vitest";
import { suggestedName } from "./gitimport";

describe("suggestedName", () => {
  it("takes the repository's or the subfolder's name", () => {
    expect(suggestedName("https://github.com/stackblitz/starters.git", "")).toBe("starters");
    expect(suggestedName("git@github.com:owner/my-app.git", "")).toBe("my-app");
    expect(suggestedName("/srv/repos/site/", "")).toBe("site");
    expect(suggestedName("https://github.com/stackblitz/starters.git", "react-ts/")).toBe("react-ts");
    expect(suggestedName("", "")).toBe("");
  });
});
