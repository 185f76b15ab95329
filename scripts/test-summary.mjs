#!/usr/bin/env node
// Prints the test run's totals as one plain line ("N passed, N failed, N skipped") from
// vitest's JSON report, so any reader of the CI log sees the count.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(new URL('../test-output/vitest.json', import.meta.url), 'utf8'));
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
