export interface ExecExecutorOptions {
  cmd: string;
  config?: string;
  hosts?: string;
  roles?: string;
  timeout?: string;
  retries?: number;
  failurePolicy?: string;
  concurrency?: number;
  output?: 'auto' | 'tty' | 'plain' | 'json';
}
