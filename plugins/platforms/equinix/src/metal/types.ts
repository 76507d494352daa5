/**
 * The subset of the Equinix Metal API's JSON that labrig reads and sends (field names as the API
 * spells them). Everything else in its answers is ignored.
 */

/** Device states: queued | provisioning | active | failed | deprovisioning | deleted | inactive | powering_on | ... */
export type DeviceState = string;

export interface MetalIpAddress {
  address: string;
  /** 4 or 6. */
  address_family: number;
  public: boolean;
  management?: boolean;
}

export interface MetalDevice {
  id: string;
  hostname: string;
  state: DeviceState;
  tags?: string[];
  created_at?: string;
  ip_addresses?: MetalIpAddress[];
  plan?: { slug?: string };
  metro?: { code?: string };
  operating_system?: { slug?: string };
}

/** Body of POST /projects/{id}/devices. */
export interface CreateDeviceRequest {
  hostname: string;
  plan: string;
  metro: string;
  operating_system: string;
  billing_cycle: string;
  tags: string[];
}

/** A page of GET /projects/{id}/devices. */
export interface DevicePage {
  devices: MetalDevice[];
  meta?: { current_page?: number; last_page?: number; total?: number };
}

/** States after which a device is on its way out (or gone): not part of any inventory. */
export const LEAVING_STATES: ReadonlySet<DeviceState> = new Set(['deprovisioning', 'deleted']);

/** The device's IPv4 address, public or private; undefined until the API has assigned one. */
export function ipv4Of(device: MetalDevice, network: 'public' | 'private'): string | undefined {
  return device.ip_addresses?.find((ip) => ip.address_family === 4 && ip.public === (network === 'public'))?.address;
}
