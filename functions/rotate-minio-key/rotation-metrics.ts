/** The MinIO rotation publishes the metrics every rotation function shares (one set of alarms). */
export { ROTATION_METRICS } from '../shared/rotation/rotation-metrics';
