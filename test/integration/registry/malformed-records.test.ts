import { type AttributeValue, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { handlePresignApi, type PresignAuditLine } from '../../../functions/presign/presign-api';
import { dynamoDb } from '../support/aws';
import { presignBed } from '../support/presign-bed';

/**
 * Records written to DynamoDB by something other than the admin API (a newer release, the sync
 * job of another version, a hand edit) go through the real handler: a harmless extra attribute
 * must not take the bucket down; anything else is the operator's to fix (502), named by field.
 */
describe('Registry: malformed records in DynamoDB (moto), through handlePresignApi', () => {
  let bed: Awaited<ReturnType<typeof presignBed>>;
  const lines: PresignAuditLine[] = [];
  const canary = `canary${crypto.randomUUID().replace(/-/g, '')}`;

  const presign = (bucket: string) =>
    handlePresignApi(
      {
        httpMethod: 'POST',
        path: `/v1/buckets/${bucket}/presign`,
        body: JSON.stringify({ key: 'k.txt', method: 'GET' }),
        isBase64Encoded: false,
        requestContext: { identity: { userArn: 'arn:aws:sts::123456789012:assumed-role/fence/pod' } },
      } as unknown as APIGatewayProxyEvent,
      { requestId: 'req-malformed' },
      { service: bed.service, record: (line) => lines.push(line) },
    );

  /** Writes the bed's valid record under `bucket`, with `change` applied to its attributes. */
  const putRaw = async (bucket: string, change: (item: Record<string, AttributeValue>) => void) => {
    const item = marshall({ ...bed.record, id: crypto.randomUUID(), bucket_name: bucket });
    change(item);
    await dynamoDb().send(new PutItemCommand({ TableName: bed.tableName, Item: item }));
  };

  beforeAll(async () => {
    bed = await presignBed();
  });

  it('ignores an attribute it does not know and presigns as usual', async () => {
    // Prepare
    const bucket = `${bed.bucketName}-extra`;
    await putRaw(bucket, (item) => {
      item.added_by_a_newer_release = { S: canary };
    });

    // Act
    const answer = await presign(bucket);

    // Assess
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body).url).toContain(`/${bucket}/k.txt?`);
  });

  it.each([
    [
      'an unknown allowed_ops value',
      (item: Record<string, AttributeValue>) => {
        item.allowed_ops = { L: [{ S: 'download' }, { S: canary }] };
      },
      'field "allowed_ops.1" must be one of "download", "upload", "multipart", "list"',
    ],
    [
      'a string set where a list belongs',
      (item: Record<string, AttributeValue>) => {
        item.allowed_ops = { SS: ['download', canary] };
      },
      'field "allowed_ops" must be an array, not a set',
    ],
    [
      'a non-UUID id',
      (item: Record<string, AttributeValue>) => {
        item.id = { S: canary };
      },
      'field "id" must be a valid uuid',
    ],
    [
      'a number where a string belongs',
      (item: Record<string, AttributeValue>) => {
        item.region = { N: '42' };
      },
      'field "region" must be a string, not an integer',
    ],
    [
      'a number no JavaScript number can hold',
      (item: Record<string, AttributeValue>) => {
        item.max_expires_in = { N: '123456789012345678901234567890' };
      },
      'field "max_expires_in" must be an integer, not an integer beyond ±2^53',
    ],
  ])(
    'answers 502 bucket_misconfigured for %s, naming bucket and field, never the value',
    async (_case, change, problem) => {
      // Prepare
      const bucket = `${bed.bucketName}-${crypto.randomUUID().slice(0, 6)}`;
      await putRaw(bucket, change);

      // Act
      const answer = await presign(bucket);

      // Assess
      expect(answer.statusCode).toBe(502);
      const { error } = JSON.parse(answer.body);
      expect(error.code).toBe('bucket_misconfigured');
      expect(error.message).toBe(`the registry record of bucket "${bucket}" is malformed: ${problem}`);
      expect(answer.body).not.toContain(canary);
      expect(lines.at(-1)).toMatchObject({ bucket, outcome: 'bucket_misconfigured', status: 502 });
      expect(JSON.stringify(lines)).not.toContain(canary);
    },
  );
});
