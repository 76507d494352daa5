/**
 * The EC2 calls this platform makes (RunInstances, DescribeInstances, TerminateInstances), through
 * the AWS SDK, as a small interface the provisioning code is written against. The SDK is loaded on
 * first use (it takes a few hundred milliseconds); credentials come from the SDK's standard chain,
 * or the config's named profile. Every SDK failure leaves as a typed error (aws-errors.ts).
 */
import type { EC2Client, EC2ClientConfig, Instance, RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import type { PlatformContext } from '@labrig/core';
import { addSecrets } from '@labrig/core';
import { toAwsError, type CallSite } from './aws-errors.js';
import { configFileOf, type AwsPlatformConfig } from './config.js';
import { indexOfName } from './naming.js';

/** An instance as this platform sees it. */
export interface Ec2Instance {
  id: string;
  /** The Name tag. */
  name?: string;
  /** From the Name tag's numeric suffix. */
  index?: number;
  /** pending | running | shutting-down | terminated | stopping | stopped */
  state: string;
  stateReason?: string;
  publicIp?: string;
  privateIp?: string;
  vpcId?: string;
  subnetId?: string;
  instanceType?: string;
  availabilityZone?: string;
  clientToken?: string;
  tags: Record<string, string>;
}

/** A DescribeInstances filter (`tag:Name`, `vpc-id`, `instance-state-name`, `instance-id`, `client-token`). */
export interface Ec2Filter {
  name: string;
  values: string[];
}

export interface Ec2Api {
  /** One RunInstances call for one instance (MinCount = MaxCount = 1). */
  runInstance(input: RunInstancesCommandInput): Promise<Ec2Instance>;
  /** Every instance matching all filters (pages followed). */
  describeInstances(filters: Ec2Filter[]): Promise<Ec2Instance[]>;
  /** TerminateInstances; returns each instance's state after the call. */
  terminateInstances(ids: string[]): Promise<{ id: string; state: string }[]>;
  /** Release the client's sockets. */
  close(): void;
}

export interface OpenEc2Options {
  region: string;
  profile?: string;
  endpoint?: string;
  /** The platform file, for hints. */
  file: string;
}

/** At most this many values in one filter (AWS allows 200) and ids in one TerminateInstances call. */
const CHUNK = 100;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** An SDK Instance as an Ec2Instance. */
export function toEc2Instance(i: Instance): Ec2Instance {
  const tags = Object.fromEntries((i.Tags ?? []).flatMap((t) => (t.Key !== undefined ? [[t.Key, t.Value ?? '']] : [])));
  const name = tags['Name'];
  const index = indexOfName(name);
  return {
    id: i.InstanceId ?? '',
    ...(name !== undefined ? { name } : {}),
    ...(index !== undefined ? { index } : {}),
    state: i.State?.Name ?? 'unknown',
    ...(i.StateReason?.Message ? { stateReason: i.StateReason.Message } : {}),
    ...(i.PublicIpAddress ? { publicIp: i.PublicIpAddress } : {}),
    ...(i.PrivateIpAddress ? { privateIp: i.PrivateIpAddress } : {}),
    ...(i.VpcId ? { vpcId: i.VpcId } : {}),
    ...(i.SubnetId ? { subnetId: i.SubnetId } : {}),
    ...(i.InstanceType ? { instanceType: i.InstanceType } : {}),
    ...(i.Placement?.AvailabilityZone ? { availabilityZone: i.Placement.AvailabilityZone } : {}),
    ...(i.ClientToken ? { clientToken: i.ClientToken } : {}),
    tags,
  };
}

/** An EC2 API client for the region (and endpoint, profile) of a platform file. */
export async function openEc2(o: OpenEc2Options): Promise<Ec2Api> {
  const sdk = await import('@aws-sdk/client-ec2');
  const config: EC2ClientConfig = {
    region: o.region,
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
    ...(o.profile ? { profile: o.profile } : {}),
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
  };
  // The standard chain's secrets from the environment: nothing the process prints shows them.
  addSecrets([process.env['AWS_SECRET_ACCESS_KEY'], process.env['AWS_SESSION_TOKEN']]);
  const client: EC2Client = new sdk.EC2Client(config);
  const site = (operation: string): CallSite => ({ operation, file: o.file, region: o.region, ...(o.profile ? { profile: o.profile } : {}) });
  const call = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toAwsError(err, site(operation));
    }
  };

  return {
    async runInstance(input) {
      const out = await call('RunInstances', () => client.send(new sdk.RunInstancesCommand({ ...input, MinCount: 1, MaxCount: 1 })));
      const first = out.Instances?.[0];
      if (!first?.InstanceId) throw toAwsError(new Error('the answer holds no instance'), site('RunInstances'));
      return toEc2Instance(first);
    },
    async describeInstances(filters) {
      // A filter with many values (instance ids) is split; the other filters go with every part.
      const long = filters.find((f) => f.values.length > CHUNK);
      const parts = long ? chunks(long.values, CHUNK).map((values) => filters.map((f) => (f === long ? { name: f.name, values } : f))) : [filters];
      const found: Ec2Instance[] = [];
      for (const part of parts) {
        let token: string | undefined;
        do {
          const out = await call('DescribeInstances', () =>
            client.send(
              new sdk.DescribeInstancesCommand({
                Filters: part.map((f) => ({ Name: f.name, Values: f.values })),
                ...(token ? { NextToken: token } : {}),
              }),
            ),
          );
          for (const r of out.Reservations ?? []) for (const i of r.Instances ?? []) found.push(toEc2Instance(i));
          token = out.NextToken;
        } while (token);
      }
      return found;
    },
    async terminateInstances(ids) {
      const states: { id: string; state: string }[] = [];
      for (const part of chunks(ids, CHUNK)) {
        const out = await call('TerminateInstances', () => client.send(new sdk.TerminateInstancesCommand({ InstanceIds: part })));
        for (const c of out.TerminatingInstances ?? []) states.push({ id: c.InstanceId ?? '', state: c.CurrentState?.Name ?? 'unknown' });
      }
      return states;
    },
    close() {
      client.destroy();
    },
  };
}

/** The EC2 client of a platform file: its region (or `region`, e.g. the one recorded in the state), profile and endpoint. */
export function ec2For(cfg: AwsPlatformConfig, ctx: PlatformContext, region: string = cfg.region): Promise<Ec2Api> {
  return openEc2({
    region,
    file: configFileOf(ctx),
    ...(cfg.profile ? { profile: cfg.profile } : {}),
    ...(cfg.endpoints.ec2 ? { endpoint: cfg.endpoints.ec2 } : {}),
  });
}
