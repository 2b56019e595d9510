import { formatEnv, parseEnv } from "./envtext";

test("env text round-trips and reports bad lines", () => {
  const { vars, errors } = parseEnv("# comment\nNODE_ENV=development\n\nURL=http://x/?a=b\nbad line\n1X=2");
  expect(vars).toEqual([["NODE_ENV", "development"], ["URL", "http://x/?a=b"]]);
  expect(errors).toHaveLength(2);
  expect(errors[0]).toContain("line 5");
  expect(parseEnv(formatEnv(vars)).vars).toEqual(vars);
});
