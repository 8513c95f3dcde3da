#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so the engine ships as source without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../engine/cli/main.ts');
