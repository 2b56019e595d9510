import { portsInText } from "./ports";

test("dev-server banners name their ports", () => {
  expect(portsInText("  ➜  Local:   http://localhost:5173/\n  ➜  Network: use --host")).toEqual([5173]);
  expect(portsInText("ready on http://0.0.0.0:3000 and http://127.0.0.1:3000")).toEqual([3000]);
  expect(portsInText("http://[::1]:8080/ http://localhost:99999")).toEqual([8080]);
  expect(portsInText("no server here")).toEqual([]);
});
