// Package token signs and verifies the JWTs Sesame issues (ID tokens and
// access tokens) with keys kept in the store, so every replica on one
// database signs with the same keys, and publishes them as a JWKS.
//
// Keys is a live holder: it reloads the keys from the store every
// ReloadInterval, so a rotation made by another replica or by
// `sesame keys rotate` reaches every replica without a restart. The store
// is the only truth; what a Keys holds is a cache rebuilt on each reload.
package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sesame-id/sesame/internal/store"
)

// The algorithms Sesame signs with.
const (
	RS256 = "RS256"
	ES256 = "ES256"
)

// Algorithms are the algorithms Sesame signs with, the default first.
var Algorithms = []string{RS256, ES256}

// Algorithm is the algorithm Sesame signs with when a resource server's
// signing_alg or a client's jwt_configuration.alg says configured: ES256
// for "ES256", RS256 for everything else. The tenant also accepts HS256 and
// PS256, as Auth0 does, but Sesame has no client secret to sign HS256 with
// (it keeps only a hash) and no PS256 keys: those are signed RS256, as an
// empty value is.
func Algorithm(configured string) string {
	if configured == ES256 {
		return ES256
	}
	return RS256
}

// RSAKeyBits is the size of the RSA keys Sesame generates.
const RSAKeyBits = 2048

// DefaultReloadInterval is how often a Keys reloads from the store unless
// told otherwise: the longest a replica takes to see a rotation.
const DefaultReloadInterval = 20 * time.Second

// PublishLeeway is added to the longest token lifetime when a rotated key's
// stay in the JWKS is worked out: clocks of replicas and relying parties
// drift, and access tokens are accepted a minute past their exp.
const PublishLeeway = 5 * time.Minute

// PublishFor is how long a key stays in the JWKS after a rotation: until
// every token it signed has expired. After the rotation it keeps signing
// until the new key is ready (Activation) and a replica's next reload
// notices, at most three reload intervals; each token lives at most longest.
func PublishFor(longest, reloadInterval time.Duration) time.Duration {
	return 3*reloadInterval + longest + PublishLeeway
}

// Activation is how long a new key is published before it signs: two
// reload intervals. Within the first every replica has loaded it into its
// JWKS; a relying party's copy of the JWKS from before that (kept at most
// one reload interval, the JWKS's max-age) has expired by the end of the
// second. So no token signed with a new key ever meets a JWKS without it.
// The first key of an algorithm signs at once: nothing was signed before.
func Activation(reloadInterval time.Duration) time.Duration { return 2 * reloadInterval }

// KeyStore is the part of the store the signing keys live in.
type KeyStore interface {
	EnsureSigningKey(ctx context.Context, candidate store.SigningKey) (store.SigningKey, error)
	RotateSigningKey(ctx context.Context, next store.SigningKey, replaces string, publishUntil time.Time) (store.SigningKey, error)
	SigningKeys(ctx context.Context, now time.Time) ([]store.SigningKey, error)
}

// Options configure a Keys; the zero value is usable.
type Options struct {
	// ReloadInterval is how often Run reloads the keys; 0 means
	// DefaultReloadInterval.
	ReloadInterval time.Duration
	// RotateEvery turns on scheduled rotation: Run rotates the current key
	// of an algorithm once it is this old. 0 turns it off.
	RotateEvery time.Duration
	// PublishFor is how long a key that a scheduled rotation replaces stays
	// in the JWKS (see the function PublishFor); it is asked at each
	// rotation because the tenant's token lifetimes may change. Required
	// with RotateEvery.
	PublishFor func() time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives reload and rotation failures; nil discards them.
	Logger *slog.Logger
	// Signed, when set, is told the algorithm of every token signed (for
	// the metrics).
	Signed func(alg string)
}

// Keys holds the signing keys loaded from the store and reloads them.
// It is safe for concurrent use.
type Keys struct {
	st   KeyStore
	opts Options
	set  atomic.Pointer[keySet]

	// mu makes reloads and key creation one at a time, so that two
	// requests wanting an ES256 key make one.
	mu sync.Mutex
	// lastMiss is when (wall clock, unix ns) a token with an unknown kid
	// last made Verify reload, so that made-up kids cost at most one
	// store read a second.
	lastMiss atomic.Int64
	// certs caches the self-signed certificate of each key (cert.go), by
	// kid and common name.
	certs sync.Map
}

// keySet is one load of the keys: immutable once built.
type keySet struct {
	current map[string]currentKey // by algorithm: the key that signs
	public  map[string]publicKey  // by kid: every published key
	jwks    []byte
}

// currentKey is an algorithm's current key and the signer of its tokens:
// the current key's own, or while it waits to be published everywhere
// (Activation), the newest key it replaced.
type currentKey struct {
	kid     string    // the current key
	created time.Time // when it became current
	signer  jose.Signer
	// waiting: the current key does not sign yet, and no key it replaced
	// has been found to sign instead (then it signs itself).
	waiting bool
}

type publicKey struct {
	alg jose.SignatureAlgorithm
	key crypto.PublicKey
}

// LoadKeys loads the signing keys from the store, creating the first RS256
// key when there is none. Replicas starting at once agree on one key because
// the store keeps only the first candidate. Call Run to keep them fresh.
func LoadKeys(ctx context.Context, st KeyStore, opts Options) (*Keys, error) {
	if opts.ReloadInterval <= 0 {
		opts.ReloadInterval = DefaultReloadInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RotateEvery > 0 && opts.PublishFor == nil {
		return nil, errors.New("load signing keys: scheduled rotation needs PublishFor")
	}
	k := &Keys{st: st, opts: opts}
	if err := k.Reload(ctx); err != nil {
		return nil, err
	}
	if _, ok := k.set.Load().current[RS256]; !ok {
		if err := k.ensure(ctx, RS256); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// NewKey generates a signing key record for alg (RS256: RSA 2048; ES256:
// ECDSA P-256) created at now. Its kid is derived from the public key, so
// it is stable and says nothing secret.
func NewKey(alg string, now time.Time) (store.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, RSAKeyBits)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return store.SigningKey{}, fmt.Errorf("generate signing key: unsupported algorithm %q", alg)
	}
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("encode %s key: %w", alg, err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("encode %s public key: %w", alg, err)
	}
	sum := sha256.Sum256(pubDER)
	return store.SigningKey{
		KID:        base64.RawURLEncoding.EncodeToString(sum[:16]),
		Algorithm:  alg,
		PrivatePEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		CreatedAt:  now.UTC(),
	}, nil
}

// Reload replaces the keys with what the store holds now. On failure the
// keys stay as they were.
func (k *Keys) Reload(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.reloadLocked(ctx)
}

func (k *Keys) reloadLocked(ctx context.Context) error {
	now := k.opts.Now()
	records, err := k.st.SigningKeys(ctx, now)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	set, err := newKeySet(records, now, Activation(k.opts.ReloadInterval))
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	k.set.Store(set)
	return nil
}

// ensure makes sure alg has a current key, creating one when the store has
// none.
func (k *Keys) ensure(ctx context.Context, alg string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.set.Load().current[alg]; ok {
		return nil
	}
	candidate, err := NewKey(alg, k.opts.Now())
	if err != nil {
		return err
	}
	if _, err := k.st.EnsureSigningKey(ctx, candidate); err != nil {
		return fmt.Errorf("store %s signing key: %w", alg, err)
	}
	if err := k.reloadLocked(ctx); err != nil {
		return err
	}
	if _, ok := k.set.Load().current[alg]; !ok {
		return fmt.Errorf("load signing keys: the store has no %s key after creating one", alg)
	}
	return nil
}

// Run reloads the keys every ReloadInterval, and with RotateEvery rotates
// those that are due first, until ctx is done. A failure is logged and the
// keys stay as they were.
func (k *Keys) Run(ctx context.Context) {
	t := time.NewTicker(k.opts.ReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if k.opts.RotateEvery > 0 {
			if err := k.RotateDue(ctx); err != nil && ctx.Err() == nil {
				k.log().Warn("scheduled signing key rotation failed; retrying at the next reload", "err", err)
			}
		}
		if err := k.Reload(ctx); err != nil && ctx.Err() == nil {
			k.log().Warn("reload signing keys failed; signing with the keys loaded before", "err", err)
		}
	}
}

func (k *Keys) log() *slog.Logger {
	if k.opts.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return k.opts.Logger
}

// RotateDue rotates the current key of each algorithm that is at least
// RotateEvery old, naming it as the key replaced: when several replicas find
// the same key due, the store lets one rotate, and the others
// (store.ErrKeyChanged) take the new key on their reload.
func (k *Keys) RotateDue(ctx context.Context) error {
	if k.opts.RotateEvery <= 0 {
		return nil
	}
	now := k.opts.Now()
	var errs []error
	for alg, cur := range k.set.Load().current {
		if now.Sub(cur.created) < k.opts.RotateEvery {
			continue
		}
		next, replaced, err := k.Rotate(ctx, alg, cur.kid, k.opts.PublishFor())
		switch {
		case errors.Is(err, store.ErrKeyChanged):
			k.log().Info("signing key already rotated by another replica", "alg", alg, "kid", cur.kid)
		case err != nil:
			errs = append(errs, err)
		default:
			k.log().Info("signing key rotated on schedule", "alg", alg, "kid", next.KID, "replaced", replaced.KID,
				"published_until", replaced.PublishedUntil)
		}
	}
	return errors.Join(errs...)
}

// Rotate makes a new key the current one of alg; with replaces set only if
// replaces is still current (store.ErrKeyChanged otherwise). The key
// replaced stays published for publishFor. It reloads the keys afterwards,
// whatever the outcome, and returns the new key and the one replaced, both
// without their private keys.
func (k *Keys) Rotate(ctx context.Context, alg, replaces string, publishFor time.Duration) (next, replaced store.SigningKey, err error) {
	next, replaced, err = Rotate(ctx, k.st, alg, replaces, k.opts.Now(), publishFor)
	if rerr := k.Reload(ctx); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return store.SigningKey{}, store.SigningKey{}, err
	}
	return next, replaced, nil
}

// Rotate makes a new key created at now the current one of alg in st; with
// replaces set only if replaces is still current (store.ErrKeyChanged
// otherwise). The key replaced stays published for publishFor. It is the
// one rotation of every caller (`sesame keys rotate`, the Management API,
// a schedule through Keys.Rotate), and returns the new key and the one
// replaced, both without their private keys.
func Rotate(ctx context.Context, st KeyStore, alg, replaces string, now time.Time, publishFor time.Duration) (next, replaced store.SigningKey, err error) {
	next, err = NewKey(alg, now)
	if err != nil {
		return store.SigningKey{}, store.SigningKey{}, err
	}
	replaced, err = st.RotateSigningKey(ctx, next, replaces, now.Add(publishFor))
	if err != nil {
		return store.SigningKey{}, store.SigningKey{}, fmt.Errorf("rotate %s signing key: %w", alg, err)
	}
	next.PrivatePEM, replaced.PrivatePEM = nil, nil
	return next, replaced, nil
}

// ReloadInterval is how often the keys are reloaded: the longest a replica
// takes to see a rotation made elsewhere.
func (k *Keys) ReloadInterval() time.Duration { return k.opts.ReloadInterval }

// Current returns the kid and creation time of the key that signs alg.
func (k *Keys) Current(alg string) (kid string, created time.Time, ok bool) {
	c, ok := k.set.Load().current[alg]
	return c.kid, c.created, ok
}

// newKeySet builds the keys loaded at now. Every key is published; the
// current key of an algorithm signs once it has been current for
// activation, and until then the newest key it replaced (if one is still
// published) keeps signing.
func newKeySet(records []store.SigningKey, now time.Time, activation time.Duration) (*keySet, error) {
	set := &keySet{current: map[string]currentKey{}, public: map[string]publicKey{}}
	currents := map[string]bool{}
	// records are newest first: the first of each algorithm is its current
	// key, or the newest one it replaced.
	var jwks jose.JSONWebKeySet
	for _, rec := range records {
		alg := jose.SignatureAlgorithm(rec.Algorithm)
		block, _ := pem.Decode(rec.PrivatePEM)
		if block == nil {
			return nil, fmt.Errorf("signing key %s: not PEM", rec.KID)
		}
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", rec.KID, err)
		}
		var pub crypto.PublicKey
		switch priv := parsed.(type) {
		case *rsa.PrivateKey:
			if alg != jose.RS256 {
				return nil, fmt.Errorf("signing key %s: an RSA key for %s", rec.KID, alg)
			}
			pub = &priv.PublicKey
		case *ecdsa.PrivateKey:
			if alg != jose.ES256 || priv.Curve != elliptic.P256() {
				return nil, fmt.Errorf("signing key %s: an ECDSA key for %s", rec.KID, alg)
			}
			pub = &priv.PublicKey
		default:
			return nil, fmt.Errorf("signing key %s: unsupported key type %T", rec.KID, parsed)
		}
		set.public[rec.KID] = publicKey{alg: alg, key: pub}
		jwks.Keys = append(jwks.Keys, jose.JSONWebKey{Key: pub, KeyID: rec.KID, Algorithm: string(alg), Use: "sig"})
		cur, seen := set.current[rec.Algorithm]
		if !rec.RotatedAt.IsZero() && (!seen || !cur.waiting) {
			continue // an older rotated key, or the current key signs
		}
		if rec.RotatedAt.IsZero() && currents[rec.Algorithm] {
			return nil, fmt.Errorf("signing keys: two current %s keys", rec.Algorithm)
		}
		signer, err := jose.NewSigner(
			jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: parsed, KeyID: rec.KID}},
			(&jose.SignerOptions{}).WithType("JWT"),
		)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", rec.KID, err)
		}
		if !rec.RotatedAt.IsZero() {
			cur.signer, cur.waiting = signer, false
			set.current[rec.Algorithm] = cur
			continue
		}
		currents[rec.Algorithm] = true
		set.current[rec.Algorithm] = currentKey{kid: rec.KID, created: rec.CreatedAt, signer: signer,
			waiting: now.Sub(rec.CreatedAt) < activation}
	}
	b, err := json.Marshal(jwks)
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	set.jwks = b
	return set, nil
}

// MaxAge is how long a copy of the JWKS may be kept: one reload interval
// (see Activation).
func (k *Keys) MaxAge() time.Duration { return k.opts.ReloadInterval }

// JWKS returns the published public keys as a JSON Web Key Set document:
// the current key of each algorithm and the rotated keys whose tokens may
// still be alive.
func (k *Keys) JWKS() []byte { return k.set.Load().jwks }

// Sign serialises claims as a compact JWT signed with the current key of
// alg (RS256 or ES256; see Algorithm). The first ES256 token creates the
// ES256 key.
func (k *Keys) Sign(ctx context.Context, alg string, claims any) (string, error) {
	if !slices.Contains(Algorithms, alg) {
		return "", fmt.Errorf("sign token: unsupported algorithm %q", alg)
	}
	cur, ok := k.set.Load().current[alg]
	if !ok {
		if err := k.ensure(ctx, alg); err != nil {
			return "", err
		}
		cur = k.set.Load().current[alg]
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	obj, err := cur.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	if k.opts.Signed != nil {
		k.opts.Signed(alg)
	}
	return obj.CompactSerialize()
}

// ErrInvalidToken is returned for any token that fails verification.
var ErrInvalidToken = errors.New("token: invalid")

// Verify checks a compact JWT's signature against the published keys and
// returns its payload. It checks nothing of the claims. A kid it does not
// know makes it reload once (at most once a second), so that a token signed
// by another replica just after a rotation verifies here too.
func (k *Keys) Verify(ctx context.Context, raw string) ([]byte, error) {
	obj, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil || len(obj.Signatures) != 1 {
		return nil, ErrInvalidToken
	}
	header := obj.Signatures[0].Header
	pub, ok := k.set.Load().public[header.KeyID]
	if !ok && header.KeyID != "" && k.mayReloadForMiss() {
		if err := k.Reload(ctx); err != nil {
			k.log().Warn("reload signing keys for an unknown kid failed", "err", err)
		}
		pub, ok = k.set.Load().public[header.KeyID]
	}
	// The key decides the algorithm, never the token's header.
	if !ok || jose.SignatureAlgorithm(header.Algorithm) != pub.alg {
		return nil, ErrInvalidToken
	}
	payload, err := obj.Verify(pub.key)
	if err != nil {
		return nil, ErrInvalidToken
	}
	return payload, nil
}

// mayReloadForMiss reports whether an unknown kid may cause a reload now:
// not more than once a second (by the wall clock: this is a throttle, not a
// rule of the tenant's).
func (k *Keys) mayReloadForMiss() bool {
	now := time.Now().UnixNano()
	last := k.lastMiss.Load()
	return now-last >= int64(time.Second) && k.lastMiss.CompareAndSwap(last, now)
}
