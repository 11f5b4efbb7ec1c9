// Entry point of the bundled self-check (scripts/prepare-gpu-carry.sh): `node selfcheck.mjs --help`.
import { main } from './selfcheck.ts';

process.exit(await main());
