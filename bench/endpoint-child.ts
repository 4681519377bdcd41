import { startAwsEndpoint } from '../tools/local-cloud/endpoint';

/**
 * The local AWS endpoint (dynalite, kinesalite, fauxqs, emulated TransactWriteItems) in its own
 * process, so the bench that forks it measures only its own CPU. Sends `{url}` once listening,
 * answers `'cpu'` with this process's CPU time, and stops when the parent disconnects.
 */
const endpoint = await startAwsEndpoint({ port: 0, region: 'us-east-1', accountId: '000000000000' });
process.on('message', (message) => {
  if (message === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send?.({ cpuMicros: user + system });
  }
});
process.on('disconnect', () => {
  void endpoint.close().finally(() => process.exit(0));
});
process.send?.({ url: endpoint.url });
