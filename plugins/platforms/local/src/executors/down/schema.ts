export interface DownExecutorOptions {
  config?: string;
}
