#!/usr/bin/env node
// The `layers` CLI entry for `npx layers …`. The sources are TypeScript run by Node's type stripping,
// which needs Node ≥ 22.18; the pinned Node 24 in node_modules/.bin provides it under npm/npx.
import '../src/main.ts';
