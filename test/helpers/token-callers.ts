import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './cli.ts';

export type CallerResult = { asked_at: number; tokens: string[]; refresh_tokens: string[]; errors: string[] };

export type TokenCallers = {
  /** Sends `go`: every caller of this process asks for the account's credentials at once. */
  go(): void;
  result: Promise<CallerResult>;
  kill(): void;
};

const ENTRY = new URL('./token-caller-process.ts', import.meta.url).pathname;

/**
 * Starts token-caller-process.ts as a separate OS process with `env` as its whole environment (plus
 * PATH) and resolves once its runtime is open and it waits for `go`.
 */
export async function startTokenCallers(
  env: Record<string, string>,
  orgId: string,
  accountId: string,
  callers: number,
): Promise<TokenCallers> {
  const child: ChildProcess = spawn(process.execPath, [ENTRY, orgId, accountId, String(callers)], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`caller process exited ${code}: ${stderr}`));
      child.once('exit', onExit);
      lines.once('line', (line) => {
        child.off('exit', onExit);
        resolve(line);
      });
    });
  const ready = await next();
  if (ready !== 'ready') throw new Error(`caller process said ${ready}: ${stderr}`);
  const result = next().then((line) => JSON.parse(line) as CallerResult);
  return {
    go: () => child.stdin?.write('go\n'),
    result,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
