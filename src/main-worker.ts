// Worker-only process entry point (`npm run start:worker`): ROLE=worker, scale out freely.
process.env.ROLE = 'worker';
await import('./main.js');
