// deploy/k8s: both overlays render with `kubectl kustomize`, every object validates offline
// against the Kubernetes schemas (kubernetes-models), and a policy holds over every workload:
// non-root numeric user, read-only root, no capabilities or privilege escalation, seccomp
// RuntimeDefault, requests and limits, probes on /health/live and /health/ready with timeouts
// that fit the service's own check timeout, a grace period above SHUTDOWN_GRACE_MS, no latest tag.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const K8S = fileURLToPath(new URL('../../deploy/k8s', import.meta.url));
const kubectl = spawnSync('sh', ['-c', 'command -v kubectl']).status === 0 || process.env.CI === 'true';
if (!kubectl) console.warn('[rampart tests] NOTICE: kubectl is missing: the Kubernetes manifest tests are SKIPPED (CI has kubectl).');

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field below.
type Manifest = Record<string, any>;

function render(overlay: string): Manifest[] {
  const result = spawnSync('kubectl', ['kustomize', `${K8S}/overlays/${overlay}`], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${overlay} failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map((document) => document.toJSON() as Manifest);
}

function podSpecs(objects: Manifest[]): [string, Manifest][] {
  return objects.filter((o) => ['Deployment', 'Job'].includes(o.kind)).map((o) => [`${o.kind}/${o.metadata.name}`, o.spec.template.spec]);
}

describe.runIf(kubectl).each(['production', 'single-node'])('deploy/k8s/overlays/%s', (overlay) => {
  const objects = render(overlay);
  const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'rampart')?.data as Record<string, string>;

  it('validates every object against the Kubernetes schemas', async () => {
    expect(objects.length).toBeGreaterThan(10);
    for (const object of objects) {
      const module = await import(`kubernetes-models/${object.apiVersion}/${object.kind}`);
      const Model = module[object.kind] ?? module.default;
      expect(() => new Model(object).validate(), `${object.kind}/${object.metadata.name}`).not.toThrow();
    }
    // Validation is no rubber stamp: a wrong type fails.
    const { Deployment } = await import('kubernetes-models/apps/v1/Deployment');
    const broken = structuredClone(objects.find((o) => o.kind === 'Deployment')) as Manifest;
    broken.spec.replicas = 'two';
    expect(() => new Deployment(broken).validate()).toThrow();
  });

  it('runs every container non-root, read-only, with no capabilities, seccomp RuntimeDefault, requests and limits', () => {
    for (const [name, spec] of podSpecs(objects)) {
      expect(spec.automountServiceAccountToken, name).toBe(false);
      expect(spec.securityContext.seccompProfile.type, name).toBe('RuntimeDefault');
      for (const container of spec.containers) {
        const security = container.securityContext;
        expect(security.runAsNonRoot, name).toBe(true);
        expect(Number.isInteger(security.runAsUser) && security.runAsUser > 0, name).toBe(true);
        expect(security.readOnlyRootFilesystem, name).toBe(true);
        expect(security.allowPrivilegeEscalation, name).toBe(false);
        expect(security.capabilities.drop, name).toEqual(['ALL']);
        expect(security.seccompProfile.type, name).toBe('RuntimeDefault');
        for (const kind of ['requests', 'limits']) {
          expect(container.resources[kind].cpu, `${name} ${kind}`).toBeDefined();
          expect(container.resources[kind].memory, `${name} ${kind}`).toBeDefined();
        }
        expect(container.image, name).toMatch(/:[^:]+$/);
        expect(container.image, name).not.toMatch(/:latest$/);
      }
    }
  });

  it('probes /health/live and /health/ready with timeouts that fit HEALTH_CHECK_TIMEOUT_MS, and drains within the grace period', () => {
    const checkTimeoutS = Number(config.HEALTH_CHECK_TIMEOUT_MS) / 1000;
    const graceS = Number(config.SHUTDOWN_GRACE_MS) / 1000;
    const deployments = podSpecs(objects).filter(([name]) => name.startsWith('Deployment/'));
    expect(deployments.length).toBeGreaterThan(0);
    // A drain window while the endpoint removal propagates, inside the grace period with room for the close.
    expect(Number(config.SHUTDOWN_DRAIN_MS)).toBeGreaterThan(0);
    expect(Number(config.SHUTDOWN_DRAIN_MS) / 1000).toBeLessThanOrEqual(graceS / 2);
    for (const [name, spec] of deployments) {
      expect(spec.terminationGracePeriodSeconds, name).toBeGreaterThan(graceS);
      for (const container of spec.containers) {
        expect(container.livenessProbe.httpGet.path, name).toBe('/health/live');
        expect(container.readinessProbe.httpGet.path, name).toBe('/health/ready');
        // Readiness runs its checks in parallel, each cut off at the check timeout: the probe
        // waits longer than that, so a slow dependency reads as 503, not as a probe timeout.
        expect(container.readinessProbe.timeoutSeconds, name).toBeGreaterThan(checkTimeoutS);
        expect(container.livenessProbe.timeoutSeconds, name).toBeGreaterThanOrEqual(checkTimeoutS);
        const port = container.ports[0];
        expect([port.name, port.containerPort], name).toContain(container.readinessProbe.httpGet.port);
      }
    }
  });

  it('fits its shape', () => {
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
    for (const pdb of pdbs) expect(pdb.spec.maxUnavailable).toBe(1);
    expect(objects.find((o) => o.kind === 'ServiceAccount')?.automountServiceAccountToken).toBe(false);
    const deny = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'rampart-default-deny');
    expect(deny?.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false); // the example is never applied
    if (overlay === 'production') {
      expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['rampart-api', 'rampart-render', 'rampart-worker']);
      expect(objects.find((o) => o.kind === 'Job')?.spec.template.spec.containers[0].args).toEqual(['migrate']);
      expect(objects.find((o) => o.kind === 'HorizontalPodAutoscaler')?.spec.scaleTargetRef.name).toBe('rampart-api');
      expect(objects.find((o) => o.kind === 'PersistentVolumeClaim')?.spec.accessModes).toEqual(['ReadWriteMany']);
      expect(config.IN_PROCESS_WORKER).toBe('false');
    } else {
      expect(deployments).toHaveLength(1);
      expect(deployments[0]?.spec.replicas).toBe(1);
      expect(deployments[0]?.spec.strategy).toEqual({ type: 'Recreate' });
      expect(objects.find((o) => o.kind === 'PersistentVolumeClaim')?.spec.accessModes).toEqual(['ReadWriteOnce']);
      expect(objects.some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(false);
      expect(config.IN_PROCESS_WORKER).toBe('true');
      expect(config.RENDER_URL).toBeUndefined();
    }
  });
});
