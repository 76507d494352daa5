export interface HostsExecutorOptions {
  config?: string;
  json?: boolean;
}
