import type { MinioPolicyDocument } from '../minio/minio-admin-client';

/**
 * The inline policy of every key rotation creates: the parent user may hold more buckets, the key
 * gets only its secret's bucket, and only what the broker (presigned GET/PUT/HEAD, multipart) and
 * testSecret (a HEAD of the bucket) use.
 */
export function bucketKeyPolicy(bucket: string): MinioPolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
        Resource: [`arn:aws:s3:::${bucket}`],
      },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: [`arn:aws:s3:::${bucket}/*`],
      },
    ],
  };
}
