// Child process entry: the webhook receiver on its own event loop, driven over IPC.
import { serve } from './lib/ipc.js';
import { startReceiver, type ReceiverReset } from './lib/receiver.js';

const receiver = await startReceiver();

serve({
  port: () => receiver.port,
  reset: (o: ReceiverReset) => receiver.reset(o),
  stats: () => receiver.stats(),
  latencies: () => receiver.latencies(),
  exit: async () => {
    await receiver.close();
    setTimeout(() => process.exit(0), 20);
  },
});
