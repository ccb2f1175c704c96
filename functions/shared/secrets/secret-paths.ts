/**
 * Sub-path of the secrets prefix that holds admin credentials (MinIO admin keys). The presign
 * role is explicitly denied it, and the admin core never lets a bucket use a secret there.
 */
export const ADMIN_SECRETS_SUBPATH = 'admin/';
