import { InvalidRequestError, ThrottledError } from '../errors';
import type { SecretAdministration, SecretDescription } from '../secrets/secret-administration';
import type { SecretPayload } from '../secrets/secret-resolver';
import type { IamKeyDirectory } from './iam-key-directory';
import { IAM_ROTATION_TAG } from './iam-rotation-secret';

/**
 * The tag that marks a secret for IAM-user-key rotation (iam-rotation-secret.ts): the rotation
 * role's Secrets Manager rights follow it (ABAC), so a secret created after deploy can be
 * rotated once it carries the tag.
 */
export const IAM_ROTATION_TAG_KEY = IAM_ROTATION_TAG.key;
export const IAM_ROTATION_TAG_VALUE = IAM_ROTATION_TAG.value;
export const IAM_USER_NAME_FIELD = 'iam_user_name';

/** How rotation is turned on: the deployment's function, IAM path and interval. */
export interface IamRotationSettings {
  /** The stack output `IamKeyRotationFunctionArn`. */
  functionArn: string;
  /** The deployment's `rotatedIamUserPath`: the rotation may only touch users under it. */
  userPath: string;
  /** The deployment's `rotationDays`. */
  rotationDays: number;
}

/** Why a credential's keys cannot be rotated (stable: reports and scripts match on it). */
export type IamRotationRefusal =
  /** The operator may not ask IAM or STS about the key (AccessDenied). */
  | 'no_permission'
  /** The key belongs to another AWS account than the operator's (and the deployment's). */
  | 'other_account'
  /** The key's user is outside the path the rotation function may touch. */
  | 'outside_path'
  /** The user has two active keys: a rotation could only create a key by deleting one in use. */
  | 'keys_in_use'
  /** Another function already rotates the secret. */
  | 'rotated_elsewhere';

/** What IAM says about a key before anything is written. */
export type IamKeyAssessment =
  | { rotatable: true; iam_user_name: string }
  | { rotatable: false; reason: IamRotationRefusal; message: string; iam_user_name?: string };

/** What `enable` did to a secret: `enabled` wrote something, `already_enabled` nothing. */
export type IamEnrollmentOutcome =
  | { outcome: 'enabled' | 'already_enabled'; iam_user_name: string }
  | { outcome: 'refused'; reason: IamRotationRefusal; message: string; iam_user_name?: string };

const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);
const NO_SUCH_ENTITY = new Set(['NoSuchEntity', 'NoSuchEntityException', 'NotFoundException']);
const THROTTLED = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException']);
const FUNCTION_ARN =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$/;
const IAM_PATH = /^\/([\u0021-\u007e]{1,510}\/)?$/;

/**
 * The settings as the operator gave them, checked: a Lambda function ARN, an IAM path
 * (`/…/`), and a whole number of days within what Secrets Manager accepts.
 */
export function iamRotationSettings(given: {
  functionArn?: string | undefined;
  userPath?: string | undefined;
  rotationDays: number;
}): IamRotationSettings {
  if (!given.functionArn) {
    throw new InvalidRequestError(
      'name the IAM key rotation function: --rotation-function-arn or FENCE_IAM_ROTATION_FUNCTION_ARN (the stack output IamKeyRotationFunctionArn)',
      'rotation_function_arn',
    );
  }
  if (!FUNCTION_ARN.test(given.functionArn)) {
    throw new InvalidRequestError(
      'the rotation function must be a Lambda function ARN, arn:aws:lambda:<region>:<account>:function:<name>',
      'rotation_function_arn',
    );
  }
  if (!given.userPath) {
    throw new InvalidRequestError(
      "name the IAM path of rotated users: --iam-user-path or FENCE_ROTATED_IAM_USER_PATH (the deployment's rotatedIamUserPath, e.g. /gen3-buckets/)",
      'iam_user_path',
    );
  }
  if (!IAM_PATH.test(given.userPath)) {
    throw new InvalidRequestError(
      `the IAM user path must begin and end with /, e.g. /gen3-buckets/ (not "${given.userPath.slice(0, 64)}")`,
      'iam_user_path',
    );
  }
  if (!Number.isInteger(given.rotationDays) || given.rotationDays < 1 || given.rotationDays > 1000) {
    throw new InvalidRequestError(
      'the rotation interval must be a whole number of days from 1 to 1000',
      'rotation_days',
    );
  }
  return { functionArn: given.functionArn, userPath: given.userPath, rotationDays: given.rotationDays };
}

/**
 * Turns on IAM-user-key rotation for a secret holding an IAM user's keys: finds the user
 * (refusing keys of another account, users outside the rotation's path, users whose two keys
 * are both in use), writes `iam_user_name` into the payload, tags the secret for the rotation
 * role, and schedules rotation without rotating now. Each write checks what is already there, so
 * a rerun after any failure completes and a rerun after success writes nothing. Never reads
 * more of a payload than its `access_key_id`, never returns a value.
 */
export class IamRotationEnrollment {
  constructor(
    private readonly deps: {
      directory: IamKeyDirectory;
      secrets: SecretAdministration;
      settings: IamRotationSettings;
    },
  ) {}

  get settings(): IamRotationSettings {
    return this.deps.settings;
  }

  /** Whether the key can be rotated, from IAM and STS alone (read only: the dry run's answer). */
  async assess(accessKeyId: string): Promise<IamKeyAssessment> {
    const { directory, settings } = this.deps;
    const asked = async <T>(action: string, call: () => Promise<T>): Promise<Asked<T>> => {
      try {
        return { ok: true, value: await call() };
      } catch (error) {
        return { ok: false, refusal: refusalOf(error, action) };
      }
    };
    const caller = await asked('sts:GetCallerIdentity', () => directory.callerAccount());
    if (!caller.ok) return caller.refusal;
    const owner = await asked('sts:GetAccessKeyInfo', () => directory.keyAccount(accessKeyId));
    if (!owner.ok) return owner.refusal;
    if (owner.value !== caller.value) {
      return {
        rotatable: false,
        reason: 'other_account',
        message: `the key belongs to AWS account ${owner.value}, not ${caller.value} (yours and the deployment's): its users are out of the rotation's reach`,
      };
    }
    const user = await asked('iam:GetAccessKeyLastUsed', () => directory.keyOwner(accessKeyId));
    if (!user.ok) return user.refusal;
    const userName = user.value;
    const path = await asked('iam:GetUser', () => directory.userPath(userName));
    if (!path.ok) return { ...path.refusal, iam_user_name: userName };
    if (!path.value.startsWith(settings.userPath)) {
      return {
        rotatable: false,
        reason: 'outside_path',
        iam_user_name: userName,
        message: `IAM user ${userName} is at path ${path.value}, outside ${settings.userPath} (the deployment's rotatedIamUserPath): the rotation function may not touch its keys`,
      };
    }
    const active = await asked('iam:ListAccessKeys', () => directory.activeKeyCount(userName));
    if (!active.ok) return { ...active.refusal, iam_user_name: userName };
    if (active.value > 1) {
      return {
        rotatable: false,
        reason: 'keys_in_use',
        iam_user_name: userName,
        message: `IAM user ${userName} has ${active.value} active access keys: a rotation could only create a new one by deleting a key in use. Deactivate and delete the key nothing uses, then run again`,
      };
    }
    return { rotatable: true, iam_user_name: userName };
  }

  /**
   * Turns rotation on for the secret `description`, whose current value is `payload`. A secret
   * this function already rotates is left as it is (without asking IAM: during a rotation the
   * user rightly has two keys).
   */
  async enable(description: SecretDescription, payload: SecretPayload): Promise<IamEnrollmentOutcome> {
    const { secrets, settings } = this.deps;
    const storedUser = payload[IAM_USER_NAME_FIELD];
    if (description.rotationEnabled) {
      if (description.rotationFunctionArn !== settings.functionArn) {
        return {
          outcome: 'refused',
          reason: 'rotated_elsewhere',
          message: `secret ${description.name} is already rotated by ${description.rotationFunctionArn ?? 'another function'}`,
        };
      }
      if (
        typeof storedUser === 'string' &&
        description.tags?.[IAM_ROTATION_TAG_KEY] === IAM_ROTATION_TAG_VALUE &&
        description.rotationRules?.automaticallyAfterDays === settings.rotationDays
      ) {
        return { outcome: 'already_enabled', iam_user_name: storedUser };
      }
    }
    if (secrets.putValue === undefined || secrets.tag === undefined || secrets.enableRotation === undefined) {
      throw new InvalidRequestError(
        `rotation of IAM user keys needs AWS Secrets Manager, not the ${secrets.backend} backend`,
        'secrets_backend',
      );
    }
    const accessKeyId = payload.access_key_id;
    if (typeof accessKeyId !== 'string') {
      throw new InvalidRequestError(`secret ${description.name} holds no access_key_id`, 'secret_ref');
    }
    let userName: string;
    if (description.rotationEnabled && typeof storedUser === 'string') {
      // This function rotates it already: the user rightly has two keys during a rotation.
      userName = storedUser;
    } else {
      const assessment = await this.assess(accessKeyId);
      if (!assessment.rotatable) return { outcome: 'refused', ...assessment };
      userName = assessment.iam_user_name;
    }
    // The payload first: the rotation's first step reads the user from it.
    if (storedUser !== userName)
      await secrets.putValue(description.ref, { ...payload, [IAM_USER_NAME_FIELD]: userName });
    if (description.tags?.[IAM_ROTATION_TAG_KEY] !== IAM_ROTATION_TAG_VALUE) {
      await secrets.tag(description.ref, { [IAM_ROTATION_TAG_KEY]: IAM_ROTATION_TAG_VALUE });
    }
    if (
      !description.rotationEnabled ||
      description.rotationRules?.automaticallyAfterDays !== settings.rotationDays
    ) {
      await secrets.enableRotation(description.ref, {
        functionArn: settings.functionArn,
        automaticallyAfterDays: settings.rotationDays,
      });
    }
    return { outcome: 'enabled', iam_user_name: userName };
  }
}

type Refused = Extract<IamKeyAssessment, { rotatable: false }>;
/** One question to IAM or STS: its answer, or the refusal it means for the credential. */
type Asked<T> = { ok: true; value: T } | { ok: false; refusal: Refused };

/** A refusal of IAM or STS as the credential's verdict; anything else is not the credential's fault. */
function refusalOf(error: unknown, action: string): Refused {
  const name = error instanceof Error ? error.name : '';
  if (ACCESS_DENIED.has(name)) {
    return {
      rotatable: false,
      reason: 'no_permission',
      message: `your AWS credentials may not call ${action}: grant it to check this key`,
    };
  }
  if (NO_SUCH_ENTITY.has(name)) {
    return {
      rotatable: false,
      reason: 'other_account',
      message: `IAM of your account does not know the key or its user (${action}: ${name}): it belongs to another account, or was deleted`,
    };
  }
  if (THROTTLED.has(name)) {
    throw new ThrottledError(`AWS throttled ${action}; run again`, { cause: error, retryAfterSeconds: 1 });
  }
  throw error;
}
