import type { Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { REGISTRY_SYNC_CONTEXT, synthesize } from './synthesized-stack';

const ADMIN_ROLE = 'arn:aws:iam::123456789012:role/gen3-admin';
const MINIO_ADMIN_SECRET =
  'arn:aws:secretsmanager:us-east-1:123456789012:secret:gen3/fence/admin/minio/m-AbCdEf';
const EVERY_STORE_CALLER = { adminRoleArns: ADMIN_ROLE, minioAdminSecretArns: MINIO_ADMIN_SECRET };

/** The environment variables of a function, as synthesized. */
function variables(
  json: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> },
  stack: Stack,
  fn: lambda.IFunction | undefined,
): Record<string, unknown> {
  if (fn === undefined) throw new Error('function not deployed');
  const id = stack.getLogicalId(fn.node.defaultChild as never);
  const properties = json.Resources[id]?.Properties as {
    Environment: { Variables: Record<string, unknown> };
  };
  return properties.Environment.Variables;
}

describe('Setting: the store-endpoint policy (SSRF) on every function that calls stores', () => {
  const storeCallers = (stack: ReturnType<typeof synthesize>['stack']) => ({
    presign: stack.presignApi.function,
    admin: stack.adminApi?.function,
    drift: stack.driftCheck.function,
    rotation: stack.rotation?.function,
  });

  it('is https to public addresses only by default', () => {
    // Act
    const { stack, json } = synthesize(EVERY_STORE_CALLER);

    // Assess
    for (const [name, fn] of Object.entries(storeCallers(stack))) {
      const env = variables(json, stack, fn);
      expect([name, env.STORE_ENDPOINT_ALLOW_HTTP]).toEqual([name, 'false']);
      expect([name, env.STORE_ENDPOINT_ALLOWED_NETWORKS]).toEqual([name, undefined]);
    }
  });

  it('takes storeEndpointAllowHttp and storeEndpointAllowedNetworks from context, for every one of them', () => {
    // Act
    const { stack, json } = synthesize({
      ...EVERY_STORE_CALLER,
      storeEndpointAllowHttp: 'true',
      storeEndpointAllowedNetworks: '10.0.0.5/32, minio.internal,fd00::/8',
    });

    // Assess
    for (const [name, fn] of Object.entries(storeCallers(stack))) {
      const env = variables(json, stack, fn);
      expect([name, env.STORE_ENDPOINT_ALLOW_HTTP, env.STORE_ENDPOINT_ALLOWED_NETWORKS]).toEqual([
        name,
        'true',
        '10.0.0.5/32,minio.internal,fd00::/8',
      ]);
    }
  });

  it.each([
    [
      { storeEndpointAllowedNetworks: '10.0.0.0/33' },
      /storeEndpointAllowedNetworks: "10.0.0.0\/33" is not a CIDR/,
    ],
    [
      { storeEndpointAllowedNetworks: '10.0.0.0/8,*.corp' },
      /storeEndpointAllowedNetworks: "\*.corp" is not a host name or CIDR/,
    ],
    [{ storeEndpointAllowedNetworks: ['fd00::/200'] }, /"fd00::\/200" is not a CIDR/],
    [{ storeEndpointAllowHttp: 'yes' }, /storeEndpointAllowHttp must be true or false/],
  ])('refuses %o at synth', (context, message) => {
    expect(() => synthesize(context)).toThrow(message);
  });
});

describe('Construct: AdminApi security group (in Fence DB’s VPC)', () => {
  type Rule = Record<string, unknown>;
  function adminGroup(context: Record<string, unknown>) {
    const { stack, json, template } = synthesize({
      adminRoleArns: ADMIN_ROLE,
      ...REGISTRY_SYNC_CONTEXT,
      ...context,
    });
    const group = stack.adminApi?.securityGroup;
    if (group === undefined) throw new Error('the admin function has no security group of its own');
    const groupId = stack.getLogicalId(group.node.defaultChild as never);
    const properties = json.Resources[groupId]?.Properties as { SecurityGroupEgress?: Rule[] };
    const standalone = (type: string) =>
      Object.values(json.Resources)
        .filter((resource) => resource.Type === type)
        .map((resource) => resource.Properties as Rule);
    const fn = stack.adminApi?.function;
    if (fn === undefined) throw new Error('no admin API was deployed');
    const fnId = stack.getLogicalId(fn.node.defaultChild as never);
    const fnProperties = json.Resources[fnId]?.Properties as { VpcConfig: { SecurityGroupIds: unknown[] } };
    const vpcConfig = fnProperties.VpcConfig;
    return { stack, template, groupId, inline: properties.SecurityGroupEgress ?? [], standalone, vpcConfig };
  }

  it('runs the function in a group of its own that lets out only HTTPS and Fence DB’s port', () => {
    // Act
    const { groupId, inline, vpcConfig } = adminGroup({ vpcSecurityGroupIds: 'sg-0123456789abcdef0' });

    // Assess: the operator's groups (which may allow everything out) are not the admin's.
    expect(vpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [groupId, 'GroupId'] }]);
    expect(inline).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
      expect.objectContaining({ CidrIpv6: '::/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
      expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432 }),
    ]);
    // Denied: no rule for all protocols or any other port (the metadata service, other databases, SSH).
    expect(
      inline.filter((rule) => rule.IpProtocol === '-1' || ![443, 5432].includes(rule.FromPort as number)),
    ).toEqual([]);
  });

  it('with fenceDbSecurityGroupId and fenceDbPort, reaches the database only through its group', () => {
    // Act
    const { groupId, inline, standalone } = adminGroup({
      fenceDbSecurityGroupId: 'sg-0fedcba9876543210',
      fenceDbPort: '6432',
    });

    // Assess
    expect(inline).toHaveLength(2);
    expect(inline.every((rule) => rule.FromPort === 443 && rule.ToPort === 443)).toBe(true);
    expect(standalone('AWS::EC2::SecurityGroupEgress')).toEqual([
      expect.objectContaining({
        GroupId: { 'Fn::GetAtt': [groupId, 'GroupId'] },
        DestinationSecurityGroupId: 'sg-0fedcba9876543210',
        IpProtocol: 'tcp',
        FromPort: 6432,
        ToPort: 6432,
      }),
    ]);
    expect(standalone('AWS::EC2::SecurityGroupIngress')).toEqual([
      expect.objectContaining({
        GroupId: 'sg-0fedcba9876543210',
        SourceSecurityGroupId: { 'Fn::GetAtt': [groupId, 'GroupId'] },
        FromPort: 6432,
        ToPort: 6432,
      }),
    ]);
  });

  it.each([
    [{ fenceDbSecurityGroupId: 'default' }, /fenceDbSecurityGroupId: "default" is not a sg-… id/],
    [{ fenceDbPort: '70000' }, /fenceDbPort must be a TCP port/],
  ])('refuses %o', (context, message) => {
    expect(() => adminGroup(context)).toThrow(message);
  });

  it('has no group of its own outside a VPC', () => {
    const { stack } = synthesize({ adminRoleArns: ADMIN_ROLE });
    expect(stack.adminApi?.securityGroup).toBeUndefined();
  });
});
