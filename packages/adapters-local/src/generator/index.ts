// The embedded default CodeGenerator: writes the spec into the template, no AI.
export * from './template-generator.js';
