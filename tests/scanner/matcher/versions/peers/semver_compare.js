// Reference for SemVer and npm ranges: node-semver, installed by the test into a cache dir
// whose node_modules path is argv[2]. Commands, one per stdin line (tab-separated):
//   cmp A B          -> semver.compare(A, B), or ERR when either is invalid
//   valid V          -> 1 when semver.valid(V) is not null, else 0
//   sat V RANGE INC  -> 1/0 satisfies(V, RANGE, {includePrerelease: INC === "1"}); ERR if RANGE is invalid
"use strict";
const path = require("path");
const semver = require(path.join(process.argv[2], "semver"));
const readline = require("readline");
const rl = readline.createInterface({ input: process.stdin, terminal: false });
const out = [];
function answer(f) {
  try {
    if (f[0] === "cmp") return String(semver.compare(f[1], f[2]));
    if (f[0] === "valid") return semver.valid(f[1]) === null ? "0" : "1";
    if (f[0] === "sat") {
      const opts = { includePrerelease: f[3] === "1" };
      new semver.Range(f[2], opts);
      return semver.satisfies(f[1], f[2], opts) ? "1" : "0";
    }
  } catch (e) {
    return "ERR";
  }
  return "ERR";
}
rl.on("line", (line) => {
  process.stdout.write(answer(line.split("\t")) + "\n");
});
