/**
 * The input progress bar of `sidelight analyze`: on stderr, only when stderr is a terminal and the
 * input is long enough for a bar to help (stdout stays clean for the report).
 */
import cliProgress from 'cli-progress';

/** Inputs smaller than this read in well under a second: no bar. */
export const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;

export interface InputProgress {
  add(bytes: number): void;
  stop(): void;
}

const NO_PROGRESS: InputProgress = { add() {}, stop() {} };

export function createInputProgress(
  stderr: { write(chunk: string): unknown },
  isTTY: boolean,
  totalBytes: number,
  minBytes = PROGRESS_MIN_BYTES,
): InputProgress {
  if (!isTTY || totalBytes < minBytes) return NO_PROGRESS;
  const bar = new cliProgress.SingleBar(
    {
      stream: stderr as NodeJS.WritableStream,
      format: 'reading [{bar}] {percentage}% | {value_mb}/{total_mb} MB | ETA {eta_formatted}',
      clearOnComplete: true,
      hideCursor: true,
      fps: 5,
      // the caller already decided stderr is a terminal (io.isTTY); do not second-guess a wrapped stream
      noTTYOutput: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const mb = (b: number) => (b / 1_048_576).toFixed(1);
  let done = 0;
  bar.start(totalBytes, 0, { value_mb: mb(0), total_mb: mb(totalBytes) });
  return {
    add(bytes) {
      done = Math.min(totalBytes, done + bytes);
      bar.update(done, { value_mb: mb(done) });
    },
    stop() {
      bar.stop();
    },
  };
}
