/** `sidelight run`: the sidecar. One start-up line; SIGTERM / SIGINT drain and exit 0. */
import { startService, type Service } from '../pipeline/service.js';
import type { SidelightConfig } from '../config-file/load.js';
import { createLogger } from '../telemetry/logger.js';
import { VERSION } from '../version.js';

export interface RunIo {
  readonly stderr: NodeJS.WritableStream;
  /** registers the signal handlers; injectable for tests */
  readonly onSignal?: (signal: NodeJS.Signals, handler: () => void) => void;
}

export async function runSidecar(config: SidelightConfig, io: RunIo): Promise<{ service: Service; stopped: Promise<number> }> {
  const logger = createLogger(config.service.telemetry.logs.level, (line) => io.stderr.write(line + '\n'));
  const service = await startService(config, { logger });
  const exporters = [...config.exporters.keys()].join(', ');
  io.stderr.write(`sidelight ${VERSION} running: ${service.endpoints.join(', ')}; exporters: ${exporters}\n`);

  let resolveStopped: (code: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    io.stderr.write('sidelight: stopping (draining buffered traces and open windows)\n');
    service.shutdown().then(
      () => {
        io.stderr.write('sidelight: stopped\n');
        resolveStopped(0);
      },
      (err: unknown) => {
        logger.error(`shutdown failed: ${String(err)}`);
        resolveStopped(1);
      },
    );
  };
  const on = io.onSignal ?? ((signal, handler) => process.once(signal, handler));
  on('SIGTERM', stop);
  on('SIGINT', stop);
  return { service, stopped };
}
