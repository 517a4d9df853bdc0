// ora, loaded when a command shows a spinner (stderr is a terminal). Loading it loads string-width,
// which builds an Intl.Segmenter at once: ICU data paged into every process that loads the bundle,
// the daemon included (about 6 MiB of resident memory, issue 21).
import type { Ora } from 'ora';

/**
 * A spinner on `stream`, or none when the terminal reports no width: a pseudo-terminal of 0 columns
 * (`script`, some CI runners and containers) makes ora clear lines without end, megabytes a second.
 */
export async function startSpinner(
  text: string,
  stream: NodeJS.WriteStream = process.stderr,
): Promise<Ora | undefined> {
  if (!stream.isTTY || !(stream.columns > 0)) return undefined;
  const { default: ora } = await import('ora');
  return ora({ text, stream }).start();
}
