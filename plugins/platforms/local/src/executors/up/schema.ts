export interface UpExecutorOptions {
  config?: string;
  hosts?: number;
}
