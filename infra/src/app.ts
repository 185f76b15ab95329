#!/usr/bin/env node
// The CDK app entry: `node infra/dist/app.js` (or `cdk synth` in infra/) writes the cloud assembly.
// Names and options come from context: cdk.json, `-c key=value`, or CDK_CONTEXT_JSON.
import { createApp, DEFAULT_OUTDIR } from './create-app.js';

const { app } = createApp();
const assembly = app.synth();
if (process.env['CDK_OUTDIR'] === undefined) {
  console.log(`Synthesised ${assembly.stacks.map((s) => s.stackName).join(', ')} to ${DEFAULT_OUTDIR}`);
}
