/**
 * The RunInstances request for one instance of a deployment. Tags are given with the request
 * (TagSpecifications, instance and volumes), so no instance ever exists without its deployment tag
 * and Name; the client token makes a repeated request (after a crash or a lost answer) return the
 * instance already launched instead of a second one.
 */
import type { RunInstancesCommandInput, Tag } from '@aws-sdk/client-ec2';
import type { InstancesSection } from './config.js';
import { DEPLOYMENT_TAG, INDEX_TAG, instanceName } from './naming.js';

export interface LaunchSpec {
  index: number;
  deployment: string;
  /** Idempotency token of this launch (kept in the state before the call). */
  clientToken: string;
}

/** The tags of instance `index`: the user's, then Name and the labrig tags (which win). */
export function instanceTags(instances: InstancesSection, spec: LaunchSpec): Tag[] {
  const tags: Record<string, string> = {
    ...instances.tags,
    Name: instanceName(instances.namePrefix, spec.index),
    [DEPLOYMENT_TAG]: spec.deployment,
    [INDEX_TAG]: String(spec.index),
  };
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function runInstancesInput(instances: InstancesSection, spec: LaunchSpec): RunInstancesCommandInput {
  const tags = instanceTags(instances, spec);
  const lt = instances.launchTemplate;
  return {
    MinCount: 1,
    MaxCount: 1,
    ClientToken: spec.clientToken,
    ...(instances.imageId ? { ImageId: instances.imageId } : {}),
    ...(instances.instanceType ? { InstanceType: instances.instanceType as RunInstancesCommandInput['InstanceType'] } : {}),
    ...(lt ? { LaunchTemplate: { ...(lt.id ? { LaunchTemplateId: lt.id } : { LaunchTemplateName: lt.name }), Version: lt.version } } : {}),
    ...(instances.subnetId ? { SubnetId: instances.subnetId } : {}),
    ...(instances.securityGroupIds?.length ? { SecurityGroupIds: instances.securityGroupIds } : {}),
    ...(instances.keyName ? { KeyName: instances.keyName } : {}),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
  };
}
