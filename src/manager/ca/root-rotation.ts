/**
 * The crypto around the rotation plan of `rotation.ts`: building the rotation object (a
 * new root, or the one given, cross-signed by the current root's key) and the signer a
 * manager uses for the cluster's root CA as stored, rotation included.
 *
 * CA keys reach this file only through `KeyOpener`, so keys sealed at rest (autolock)
 * plug in without this file knowing how.
 */
import { InvalidArgumentError } from '../../api/errors.ts';
import type { StoredRootCA } from '../../store/index.ts';
import { CASigner, createRootCA } from './ca-signer.ts';
import { crossSignRoot } from './cross-sign.ts';
import { ExternalCASigner, externalCAURLs, type ExternalCA, type NodeCertSigner } from './external-ca.ts';
import { parseCertPem } from './crypto.ts';
import { CertificateError } from './errors.ts';
import { withRotation, type RotationRequest } from './rotation.ts';

/** Turns a CA key as stored into PKCS#8 PEM (identity when keys are stored in clear). */
export type KeyOpener = (stored: string) => string | Promise<string>;

const clear: KeyOpener = (k) => k;

/** A root given by an operator must stay valid at least this long (SwarmKit asks a day). */
const MIN_GIVEN_ROOT_LIFETIME_MS = 24 * 3600_000;

/**
 * The root CA with a rotation begun as `req` asks: a new root made here (`generate`, named
 * for `clusterId`) or the one given (`use`: its key must match, it must be a CA valid for
 * at least a day), cross-signed by the current root's key. `now`: epoch ms. Throws
 * `InvalidArgumentError` for a given root that cannot serve.
 */
export async function beginRotation(
  root: StoredRootCA,
  req: Extract<RotationRequest, { kind: 'generate' | 'use' }>,
  opts: { clusterId: string; now: number; openKey?: KeyOpener },
): Promise<StoredRootCA> {
  const open = opts.openKey ?? clear;
  let next: { certPem: string; keyPem: string };
  if (!root.CAKey) throw new InvalidArgumentError('invalid CAConfig: the current root CA is signed for by an external CA; Shoal cannot cross-sign a new root without its key');
  if (req.kind === 'generate') next = await createRootCA({ clusterId: opts.clusterId, now: opts.now });
  else {
    next = { certPem: req.certPem, keyPem: req.keyPem };
    try {
      // Without a key an external CA signs for it (`rotationRequest` checked one is configured).
      if (req.keyPem) await CASigner.load(next);
      const cert = parseCertPem(req.certPem);
      if (!cert.ca) throw new CertificateError('ca: the certificate is not a CA');
      if (Date.parse(cert.validTo) < opts.now + MIN_GIVEN_ROOT_LIFETIME_MS) throw new CertificateError('ca: the CA certificate expires within a day');
      if (Date.parse(cert.validFrom) > opts.now) throw new CertificateError('ca: the CA certificate is not valid yet');
      if (cert.publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new CertificateError('ca: the CA key must be ECDSA P-256');
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err;
      throw new InvalidArgumentError(`invalid CAConfig.SigningCACert/SigningCAKey: ${(err as Error).message.replace(/^ca: /, '')}`, { cause: err });
    }
  }
  const crossSigned = await crossSignRoot(next.certPem, { certPem: root.CACert, keyPem: await open(root.CAKey) }, { now: opts.now });
  return withRotation(root, { CACert: next.certPem, CAKey: next.keyPem, CrossSignedCACert: crossSigned }, req.forceRotate);
}

/**
 * The signer for the cluster's root CA as stored: the root's own key when no rotation is
 * in progress; during one, the new root's key, with the cross-signed new root sent after
 * each leaf and the old root still the one nodes are told to trust. External CAs that sign
 * for the desired root come first, as in SwarmKit; without one, the key must be here.
 */
export async function loadClusterSigner(root: StoredRootCA, opts: { openKey?: KeyOpener; externalCAs?: readonly ExternalCA[] } = {}): Promise<NodeCertSigner> {
  const open = opts.openKey ?? clear;
  const rot = root.RootRotation;
  const desired = rot?.CACert ?? root.CACert;
  const urls = externalCAURLs(opts.externalCAs, desired, root.CACert);
  if (urls.length) {
    return new ExternalCASigner({
      urls, issuerPem: desired, rootPem: root.CACert, chainPem: rot?.CrossSignedCACert,
      httpsTrustPem: [root.CACert, ...(rot ? [rot.CACert] : []), ...(opts.externalCAs ?? []).map((c) => c.CACert ?? '')].filter(Boolean).join('\n'),
    });
  }
  const key = rot ? rot.CAKey : root.CAKey;
  if (!key) throw new CertificateError('ca: no external CA signs for the swarm\'s root and its key is not held here');
  if (!rot) return CASigner.load({ certPem: root.CACert, keyPem: await open(root.CAKey) });
  return CASigner.load({ certPem: rot.CACert, keyPem: await open(rot.CAKey) }, { chainPem: rot.CrossSignedCACert, trustRootPem: root.CACert });
}

/** A key that names the signer `loadClusterSigner` would make for `root` and `externalCAs` (to cache it). */
export function signerIdentity(root: StoredRootCA, externalCAs?: readonly ExternalCA[]): string {
  return `${root.CACert}|${root.RootRotation?.CACert ?? ''}|${JSON.stringify(externalCAs ?? [])}`;
}
