// Entry point for `node --test test/tools/`, whose file patterns match
// *.test.mjs but not *.selftest.mjs: the tests live in the self-test.
import './verify_delta.selftest.mjs';
