import { InvalidSecretError } from '../../errors';
import { nameOfSecretId } from '../../secrets/secret-ref-formats';

// Read back by the secrets core too (the prefix check of a ref, without asking the backend).
export { nameOfSecretId };

/**
 * How the broker's secret names (`gen3/fence/gcp/my.bucket`, what `FENCE_SECRETS_PREFIX` and the
 * admin sub-path apply to) map to GCP Secret Manager secret ids, which allow only letters,
 * digits, `-` and `_` (at most 255): `/` becomes `--` and `.` becomes `__`, so the name above is
 * the id `gen3--fence--gcp--my__bucket`. The name is read back from the id alone (never from a
 * label or annotation someone could edit), so the prefix check sees what IAM conditions on
 * `resource.name` see: the presign identity's grant on `projects/P/secrets/gen3--fence--` covers
 * exactly the names under `gen3/fence/`.
 */

const NAME_CHARACTERS = /^[A-Za-z0-9._/-]+$/;

/** The secret id for `name`; refuses a name the mapping cannot carry both ways. */
export function secretIdForName(name: string): string {
  const id = name.replaceAll('/', '--').replaceAll('.', '__');
  // `--` or `__` already in a name (or `-`, `_` beside `/`, `.`) would read back as another name.
  if (!NAME_CHARACTERS.test(name) || id.length > 255 || nameOfSecretId(id) !== name) {
    throw new InvalidSecretError(
      `secret name ${name} has no GCP secret id: names for gcp_sm may use letters, digits, ., _, - and /, without -- or __ and without - or _ beside / or ., in at most 255 characters once mapped; create the secret yourself and register it with secret_ref`,
    );
  }
  return id;
}

/**
 * Tags as GCP labels: keys and values lowercased, every character other than a-z, 0-9, `_` and
 * `-` replaced by `_`, cut to 63 characters; a key that does not start with a letter gets `k_`
 * before it. Labels are for filtering; the tags' exact values go to annotations, which allow any
 * text.
 */
export function gcpLabels(tags: Record<string, string>): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags).slice(0, 64)) {
    let labelKey = labelText(key);
    if (!/^[a-z]/.test(labelKey)) labelKey = `k_${labelKey}`.slice(0, 63);
    labels[labelKey] = labelText(value);
  }
  return labels;
}

/**
 * Tags (and the description) as GCP annotations: keys reduced to letters, digits, `.`, `_` and
 * `-` between alphanumerics, at most 63 characters; values kept whole up to 1024 characters (the
 * resource allows 16 KiB in all).
 */
export function gcpAnnotations(tags: Record<string, string>): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    const annotationKey = key
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .slice(0, 63)
      .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
    if (annotationKey !== '') annotations[annotationKey] = value.slice(0, 1024);
  }
  return annotations;
}

function labelText(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, 63);
}
