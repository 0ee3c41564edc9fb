// Package store defines the one persistence interface of Sesame, its plain
// records and its sentinel errors. Backends live in sub-packages (sqlite,
// postgres) and are all held to the same conformance suite in storetest.
//
// Everything that must be atomic (consuming a code, counting an attempt,
// rotating a refresh token, claiming an outbox row) is a single method here, so
// that two replicas on one database behave like one server.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors shared by every backend.
var (
	ErrNotFound      = errors.New("store: not found")
	ErrAlreadyExists = errors.New("store: already exists")

	// Outcomes of VerifyCode.
	ErrCodeNotFound     = errors.New("store: no live code for this identifier")
	ErrCodeExpired      = errors.New("store: code expired")
	ErrCodeWrong        = errors.New("store: wrong code")
	ErrCodeStale        = errors.New("store: code already used or replaced")
	ErrAttemptsExceeded = errors.New("store: too many wrong attempts")
	ErrBlocked          = errors.New("store: identifier blocked")

	// ErrUserBlocked: an operator blocked the user (User.Blocked), so
	// AllowLogin refuses their logins.
	ErrUserBlocked = errors.New("store: user blocked")

	// ErrRateLimited: a token bucket was empty; nothing was taken or
	// written.
	ErrRateLimited = errors.New("store: rate limited")

	// ErrUnavailable: the database cannot be reached or is locked right
	// now (a lost connection, a pool that cannot connect, SQLite's
	// "database is locked"), so nothing was done; the same call may
	// succeed later. Backends wrap such failures in it, and the HTTP layer
	// answers 503.
	ErrUnavailable = errors.New("store: database unavailable")

	// ErrKeyChanged: RotateSigningKey was told which key it replaces, and
	// that key is no longer the current one (another replica rotated
	// first); nothing was changed.
	ErrKeyChanged = errors.New("store: the current signing key changed meanwhile")

	// Outcomes of refresh token operations.
	ErrTokenRevoked = errors.New("store: refresh token revoked")
	ErrTokenReused  = errors.New("store: rotated refresh token reused")
)

// Store is implemented by every backend. Methods take the current time from
// the caller so that tests can control the clock.
type Store interface {
	// Migrate brings the schema up to date. It is safe to call from several
	// processes at once: exactly one applies each migration.
	Migrate(ctx context.Context) error
	// Ready reports nil when the database answers and every migration this
	// build knows is applied; otherwise why not (ErrUnavailable when the
	// database cannot be reached). It is cheap enough for a health check.
	Ready(ctx context.Context) error
	Close() error

	// UpdateTenant runs fn on the stored tenant configuration inside one
	// exclusive transaction and writes back what fn leaves in the state.
	// Objects removed from the state are deleted. If fn returns an error
	// nothing is written.
	UpdateTenant(ctx context.Context, fn func(*TenantState) error) error
	// Tenant returns the stored tenant configuration.
	Tenant(ctx context.Context) (TenantState, error)

	// EnsureSecret stores candidate under name unless a value already exists,
	// and returns the value that is stored. Concurrent callers all get the
	// same value.
	EnsureSecret(ctx context.Context, name string, candidate []byte) ([]byte, error)
	// Secret returns the value stored under name, or ErrNotFound. It never
	// writes (the legacy code HMAC and outbox keys are read this way, so
	// that a new installation never gets them).
	Secret(ctx context.Context, name string) ([]byte, error)

	// EnsureSigningKey stores candidate as the current key of
	// candidate.Algorithm unless that algorithm has a current key, and returns
	// the current key of that algorithm. Concurrent callers all get the same key.
	EnsureSigningKey(ctx context.Context, candidate SigningKey) (SigningKey, error)
	// RotateSigningKey makes next the current key of next.Algorithm, in one
	// transaction. The key it replaces gets RotatedAt = next.CreatedAt and
	// PublishedUntil = publishUntil. With replaces non-empty the rotation
	// happens only when replaces is the current key of that algorithm;
	// otherwise nothing changes and the error is ErrKeyChanged (so replicas
	// rotating on a schedule rotate once). It returns the key replaced (zero
	// when the algorithm had no current key).
	RotateSigningKey(ctx context.Context, next SigningKey, replaces string, publishUntil time.Time) (SigningKey, error)
	// SigningKeys returns the current key of each algorithm and every rotated
	// key whose PublishedUntil is after now, newest first (by CreatedAt).
	SigningKeys(ctx context.Context, now time.Time) ([]SigningKey, error)

	// CreateCode stores a new one-time code, kills every earlier live code
	// for the same connection and identifier, and, when msg is not nil,
	// queues msg in the outbox, and, when event is not nil, appends it to
	// the tenant log, all in one transaction.
	//
	// With takes, one token is first taken from each of those buckets, at
	// code.CreatedAt, in the same transaction (one commit for a whole
	// start), all or nothing:
	// when one is empty nothing at all is written and the error is
	// ErrRateLimited. The buckets are returned in the order of takes, as
	// TakeTokens returns them.
	CreateCode(ctx context.Context, code Code, msg *OutboxMessage, event *Event, takes ...Take) ([]Bucket, error)
	// GuessCode checks codeHMACs (the guessed value's HMAC under each key
	// the server holds, typically one to three) against the live code for
	// connection and identifier at now: one guess however many candidates,
	// a match of any of them is a match; and with consume set uses a right code up, all in
	// one transaction, so that no guess can slip past a block that an
	// earlier guess created. Its outcomes (JudgeGuess says which, and in
	// what order): success, with the code in Guessed.Code; ErrCodeNotFound,
	// ErrCodeExpired, ErrAttemptsExceeded (the code had no tries left),
	// ErrCodeStale (the value matches a code that was used or replaced;
	// nothing is counted) or ErrCodeWrong (one try was used up).
	//
	// First, with g.Takes, a token is taken from each bucket (as
	// TakeTokens); an empty one refuses with ErrRateLimited and nothing
	// else happens. With g.Protect, a block in force for the identifier
	// from g.IP, account-wide, or of g.IP on every identifier refuses the
	// guess with ErrBlocked before the code is looked at (Guessed.Block is
	// the one Strongest picks). After the code was judged, Guard.Effects
	// says whether to clear the pair's consecutive failures or count a
	// failure; a counted one is recorded (a row in the rolling window and
	// one more consecutive failure of the pair) and Guard.Penalize, given
	// what was counted, says which blocks to create (returned in
	// NewBlocks, with IDs from g.NewID) and whether the pair starts
	// counting again. A match that g.Accept refuses returns Accept's error
	// and changes nothing but the taken tokens (and the log lines of
	// g.Log, which is told of every judged guess).
	GuessCode(ctx context.Context, connection, identifier string, codeHMACs [][]byte, now time.Time, consume bool, g Guard) (Guessed, error)

	// ClaimOutbox leases up to limit messages that are due at now for
	// lease, so that no other worker takes them meanwhile. Messages whose
	// NotAfter has passed are marked expired instead of being returned.
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxMessage, error)
	// CompleteOutbox marks a claimed message as sent and forgets its payload.
	CompleteOutbox(ctx context.Context, id string, now time.Time) error
	// CompleteOutboxMany is CompleteOutbox for every message of ids, in one
	// transaction, so that a worker records a group of sends with one
	// write. An id that names no message is skipped: the message was sent
	// all the same.
	CompleteOutboxMany(ctx context.Context, ids []string, now time.Time) error
	// RetryOutbox records a failed attempt and schedules the next one at
	// next; when giveUp is true the message is marked failed for good and
	// its payload is forgotten.
	RetryOutbox(ctx context.Context, id string, lastErr string, next time.Time, giveUp bool) error
	// OutboxMessage returns one message, for tests and operators.
	OutboxMessage(ctx context.Context, id string) (OutboxMessage, error)
	// OutboxBacklog reports how many messages are pending in the outbox
	// (due or waiting for a retry) and when the oldest of them was queued
	// (zero when none is), for the metrics. It is read through the pending
	// rows' index, and every replica gets the same answer.
	OutboxBacklog(ctx context.Context) (pending int, oldest time.Time, err error)

	// LoginUser records a successful login for the user identified by
	// (Connection, Identifier): it creates the user from u when absent and
	// allowSignup is true (ErrNotFound otherwise), and updates the login
	// fields (LastLogin, LastIP, LoginsCount, verified flags) when present
	// and AllowLogin lets them in; when it refuses (ErrUserBlocked) nothing
	// changes and the stored user is returned with that error. It returns
	// the stored user and whether it was created.
	LoginUser(ctx context.Context, u User, allowSignup bool) (User, bool, error)
	// User returns a user by user_id.
	User(ctx context.Context, userID string) (User, error)
	// UserByIdentifier returns a user by connection and normalised identifier.
	UserByIdentifier(ctx context.Context, connection, identifier string) (User, error)
	// CreateUser stores a new user as given (the Management API's POST
	// /api/v2/users) and returns it as stored. A user with the same
	// UserID, or the same Identifier on the same Connection, fails with
	// ErrAlreadyExists: of concurrent creations of one identifier exactly
	// one succeeds.
	CreateUser(ctx context.Context, u User) (User, error)
	// UpdateUser runs fn on the stored user in one transaction that keeps
	// every other write to that user out, and writes back what fn leaves
	// (CheckUserUpdate says what fn may not change), so that concurrent
	// updates each see the one before. An Identifier that another user of
	// the connection has fails with ErrAlreadyExists; an unknown userID
	// with ErrNotFound; an error from fn is returned and nothing is
	// written. fn may run more than once. It returns the stored user.
	UpdateUser(ctx context.Context, userID string, fn func(*User) error) (User, error)
	// DeleteUser deletes the user and everything kept for them (refresh
	// tokens, sessions, authorization codes, login tickets) and makes the
	// live code of their identifier on their connection useless (as if a
	// newer one had been sent), in one transaction. An unknown userID is
	// ErrNotFound.
	DeleteUser(ctx context.Context, userID string) error
	// ListUsers returns one page of the users that match q, in q's order,
	// and how many match in all.
	ListUsers(ctx context.Context, q UserQuery) (UserPage, error)
	// UsersByEmail returns every user whose Email is email, on any
	// connection, oldest first (by CreatedAt, then UserID).
	UsersByEmail(ctx context.Context, email string) ([]User, error)

	// CreateRefreshToken stores a new refresh token.
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// UseRefreshToken looks up the token by hash at time now. With rotate
	// set it atomically marks the token rotated and stores next in its
	// family; presenting a rotated token again after leeway revokes the whole
	// family and returns ErrTokenReused. It returns the token presented.
	UseRefreshToken(ctx context.Context, hash []byte, now time.Time, rotate bool, leeway time.Duration, next *RefreshToken) (RefreshToken, error)
	// RefreshToken returns the token with this hash, whatever its state
	// (revoked, rotated or expired tokens included), or ErrNotFound.
	RefreshToken(ctx context.Context, hash []byte) (RefreshToken, error)
	// RevokeRefreshToken revokes the family of the token with this hash,
	// provided it belongs to clientID. Unknown tokens return ErrNotFound.
	RevokeRefreshToken(ctx context.Context, hash []byte, clientID string, now time.Time) error

	// RevokeRefreshFamily revokes every token of a family at now (no error
	// when the family has no tokens).
	RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error

	// CreateAuthCode stores an authorization code (by the hash of its value).
	CreateAuthCode(ctx context.Context, c AuthCode) error
	// RedeemAuthCode atomically marks the code with this hash used at now
	// and returns it. A code used before returns the stored record together
	// with ErrCodeStale (so the caller can revoke what the first use
	// issued); an expired one (now >= ExpiresAt) ErrCodeExpired; an unknown
	// one ErrNotFound. Only one of many concurrent redemptions succeeds.
	RedeemAuthCode(ctx context.Context, hash []byte, now time.Time) (AuthCode, error)

	// CreateLoginTicket stores a login ticket (by the hash of its value). A
	// duplicate ID or hash fails with ErrAlreadyExists.
	CreateLoginTicket(ctx context.Context, t LoginTicket) error
	// RedeemLoginTicket atomically deletes the ticket with this hash and
	// returns it: only one of many concurrent redemptions gets it, the
	// others ErrNotFound, as does an unknown or already redeemed one. An
	// expired ticket (now >= ExpiresAt) is deleted too and answers
	// ErrCodeExpired.
	RedeemLoginTicket(ctx context.Context, hash []byte, now time.Time) (LoginTicket, error)

	// CreateSession stores a login session.
	CreateSession(ctx context.Context, s Session) error
	// Session returns the session whose cookie value has this hash, if it is
	// not expired at now; ErrNotFound otherwise.
	Session(ctx context.Context, hash []byte, now time.Time) (Session, error)
	// DeleteSession deletes a session; deleting an unknown one is no error.
	DeleteSession(ctx context.Context, hash []byte) error

	// TakeTokens takes one token from each token bucket at now, in one
	// transaction, all or nothing. A bucket holds at most Limit.Burst
	// tokens, starts full, and regains Limit.Burst tokens per Limit.Per
	// (continuously); it is shared by every replica on the database. When
	// one is empty nothing is taken, that bucket (the first empty one) has
	// Allowed false, the others show what they hold, and the error is
	// ErrRateLimited.
	TakeTokens(ctx context.Context, takes []Take, now time.Time) ([]Bucket, error)

	// Blocks lists the blocks in force at now, newest first.
	Blocks(ctx context.Context, now time.Time) ([]Block, error)
	// BlocksOf lists the blocks in force at now that stop identifier
	// (from one ip or from every ip), newest first: on connection, or on
	// every connection when connection is empty. Blocks of an address on
	// every identifier are not the identifier's and are not listed.
	BlocksOf(ctx context.Context, connection, identifier string, now time.Time) ([]Block, error)
	// ClearBlocks deletes every block of identifier (any connection, any
	// ip) and its failure counters, and returns how many blocks it deleted.
	// Given an ip address, it deletes the ip's suspicious-ip block and
	// forgets the failures from that ip.
	ClearBlocks(ctx context.Context, identifier string) (int, error)
	// ClearBlocksOf deletes the blocks of identifier on connection (for
	// every ip) and its failure counters there, and returns how many
	// blocks it deleted. The identifier's blocks on other connections and
	// the blocks of addresses stay.
	ClearBlocksOf(ctx context.Context, connection, identifier string) (int, error)

	// AddEvents appends tenant log events, all in one transaction (a
	// duplicate ID fails with ErrAlreadyExists and adds none).
	AddEvents(ctx context.Context, events ...Event) error
	// Events returns the events q selects (see EventQuery).
	Events(ctx context.Context, q EventQuery) (EventPage, error)
	// Event returns the event with this ID, or ErrNotFound.
	Event(ctx context.Context, id string) (Event, error)

	// PurgeExpired deletes codes, outbox rows, refresh tokens, authorization
	// codes, login tickets, sessions, empty buckets, old failures and ended
	// blocks that are past any use at now, events older than
	// eventRetention (DefaultEventRetention when it is 0 or less), and
	// rotated signing keys whose PublishedUntil is at or before now (a
	// current key is never purged).
	PurgeExpired(ctx context.Context, now time.Time, eventRetention time.Duration) error
}

// TenantState is the whole stored tenant configuration. The configuration
// bodies are JSON documents in Auth0's Management API shape; the store does
// not interpret them.
type TenantState struct {
	Clients         []ClientRecord
	Connections     []ConnectionRecord
	ResourceServers []ResourceServerRecord
	ClientGrants    []ClientGrantRecord
	// EmailProvider is the JSON document of the email provider, or nil.
	EmailProvider []byte
}

// ClientRecord is one application.
type ClientRecord struct {
	ClientID   string
	Name       string
	SecretHash []byte // SHA-256 of the client secret; nil for none
	Data       []byte // JSON, Management API shape, without the secret
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ConnectionRecord is one connection.
type ConnectionRecord struct {
	ID        string
	Name      string
	Strategy  string
	Data      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ResourceServerRecord is one API.
type ResourceServerRecord struct {
	ID         string
	Identifier string
	Data       []byte
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ClientGrantRecord grants a client access to an API.
type ClientGrantRecord struct {
	ID        string
	ClientID  string
	Audience  string
	Data      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SigningKey is a private key used to sign tokens.
type SigningKey struct {
	KID        string
	Algorithm  string // "RS256" or "ES256"
	PrivatePEM []byte // PKCS#8 PEM
	CreatedAt  time.Time
	// RotatedAt is when a newer key of the same algorithm took over
	// signing; zero while this key signs.
	RotatedAt time.Time
	// PublishedUntil is when the key leaves the JWKS (every token it signed
	// has expired by then); zero while it signs.
	PublishedUntil time.Time
}

// Code is one passwordless one-time code (and the magic link that carries it).
type Code struct {
	ID         string // 24 hex characters, the _id of the start response
	Connection string
	Identifier string // normalised email or E.164 number
	CodeHMAC   []byte
	KeyID      string // the key CodeHMAC was made under; LegacyKeyID for rows made before key sets
	ClientID   string
	Send       string
	AuthParams []byte // JSON object, or nil
	CreatedAt  time.Time
	ExpiresAt  time.Time
	Attempts   int // wrong tries used so far
	MaxTries   int
}

// LegacyKeyID is the key id of codes HMACed under the key that versions
// before key sets kept in the database (every row the key_id migration
// found), and of a Code made without a KeyID.
const LegacyKeyID = "db"

// StoredKeyID is the key id a backend records for c.
func (c Code) StoredKeyID() string {
	if c.KeyID == "" {
		return LegacyKeyID
	}
	return c.KeyID
}

// PoolStats is one database connection pool's state, for the metrics
// (the backends' PoolStats methods).
type PoolStats struct {
	Pool         string // "main" on PostgreSQL; "writer" and "reader" on SQLite
	Max          int    // the most connections it opens
	Open         int    // in use or idle
	InUse        int
	Idle         int
	WaitCount    int64         // acquisitions that had to wait, ever
	WaitDuration time.Duration // their total wait
}

// OutboxMessage is a message waiting to be delivered by the delivery worker.
type OutboxMessage struct {
	ID          string
	Kind        string // "email" or "sms"
	Recipient   string
	Payload     []byte // sealed by the delivery package; nil once sent
	NotAfter    time.Time
	Attempts    int
	NextAttempt time.Time
	Status      string // pending, sent, failed, expired
	LastError   string
	CreatedAt   time.Time
	SentAt      time.Time
}

// Outbox message statuses.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
	OutboxExpired = "expired"
)

// User is an end user of a passwordless connection, created by their first
// login or through the Management API.
type User struct {
	UserID        string // "<strategy>|<24 hex>"
	Connection    string
	Strategy      string
	Identifier    string // normalised email or E.164 number: what logs in
	Email         string
	EmailVerified bool
	PhoneNumber   string
	PhoneVerified bool
	Name          string
	Nickname      string
	Picture       string
	GivenName     string
	FamilyName    string
	// UserMetadata and AppMetadata are JSON objects (MergeMetadata keeps
	// them), nil for none; the store does not interpret them.
	UserMetadata []byte
	AppMetadata  []byte
	// Blocked: an operator blocked the user; AllowLogin refuses them.
	Blocked     bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	LastLogin   time.Time // zero until the first login
	LastIP      string
	LoginsCount int
}

// UserSort is the order of ListUsers.
type UserSort int

const (
	// SortCreatedAt orders by CreatedAt (then UserID).
	SortCreatedAt UserSort = iota
	// SortLastLogin orders by LastLogin (then UserID); users who never
	// logged in come before everyone else in ascending order.
	SortLastLogin
)

// UserQuery selects a page of users for ListUsers. Each non-empty filter
// must match exactly; all of them must match.
type UserQuery struct {
	Email       string
	PhoneNumber string
	UserID      string
	Connection  string // the connection's name
	Sort        UserSort
	Descending  bool
	// Offset users are skipped, then at most Limit returned (none when
	// Limit is 0: only the total).
	Offset, Limit int
}

// UserPage is what ListUsers returns.
type UserPage struct {
	Users []User
	Total int // how many users match, on every page
}

// RefreshToken is stored by the SHA-256 of its value.
type RefreshToken struct {
	ID        string
	Hash      []byte
	FamilyID  string
	ClientID  string
	UserID    string
	Scope     string
	Audience  string
	CreatedAt time.Time
	ExpiresAt time.Time // zero for no absolute expiry
	RotatedAt time.Time // zero while current
	RevokedAt time.Time // zero while valid
}

// AuthCode is an authorization code issued at the end of a login, redeemed
// once at the token endpoint with the authorization_code grant.
type AuthCode struct {
	ID                  string // also the family id of refresh tokens it yields
	Hash                []byte // SHA-256 of the code value
	ClientID            string
	UserID              string
	RedirectURI         string
	Scope               string
	Audience            string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string // S256, plain, or empty
	SessionID           string
	AuthTime            time.Time
	CreatedAt           time.Time
	ExpiresAt           time.Time
	UsedAt              time.Time // zero until redeemed
}

// LoginTicket is what POST /co/authenticate gives a browser for a checked
// code: a short-lived, single-use permission to finish that user's login at
// /authorize, for one client, in the browser that holds the verifier.
type LoginTicket struct {
	ID           string // the co_id auth0.js keys the verifier by
	Hash         []byte // SHA-256 of the ticket value
	VerifierHash []byte // SHA-256 of the co_verifier
	ClientID     string
	UserID       string
	CreatedAt    time.Time // when the code was checked: the login's auth_time
	ExpiresAt    time.Time
}

// Session is a browser login session, identified by the hash of its cookie.
type Session struct {
	ID        string // public id, the sid claim
	Hash      []byte // SHA-256 of the cookie value
	UserID    string
	ClientID  string // the client the session started with
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
	IP        string
	UserAgent string
}

// Limit is a token bucket's size and refill.
type Limit struct {
	Burst int           // bucket size
	Per   time.Duration // time to regain Burst tokens
}

// Take asks for one token from the bucket Key under Limit.
type Take struct {
	Key   string
	Limit Limit
}

// Bucket is the state of a token bucket after a take.
type Bucket struct {
	Allowed   bool
	Remaining int       // whole tokens left
	Reset     time.Time // when the bucket is full again
}

// Block stops verification until ExpiresAt.
type Block struct {
	ID string
	// A block stops verification of Identifier on Connection from IP;
	// with IP empty from every ip (account lockout); with Identifier and
	// Connection empty, every identifier from IP (suspicious ip).
	Connection string
	Identifier string
	IP         string
	Reason     string // the event type: limit_wc (identifier) or limit_mu (ip)
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Guard is the brute-force protection GuessCode applies.
type Guard struct {
	// Takes are rate limit tokens taken first, all or nothing: when a
	// bucket is empty nothing else happens and the error is
	// ErrRateLimited. The buckets are returned in Guessed.Buckets.
	Takes []Take
	// Protect turns the rules below on; without it the guess is a plain
	// VerifyCode or CheckCode (no blocks, nothing counted).
	Protect          bool
	IP               string
	PairThreshold    int
	PairBlock        time.Duration
	AccountThreshold int
	AccountWindow    time.Duration
	IPThreshold      int
	IPWindow         time.Duration
	// NewID makes the IDs of the blocks GuessCode creates.
	NewID func() (string, error)
	// Accept, when set, is called inside the transaction with a live code
	// that the guess matched, before it is consumed. An error from it is
	// GuessCode's error: the code stays as it was (not consumed, no try
	// used) and nothing is counted. A magic link uses it to refuse
	// parameters that differ from the ones stored with its code.
	Accept func(Code) error
	// Login, when set, logs its user in when the guess consumes a right
	// code, in the same transaction (one commit for a code check and its
	// login): as LoginUser(*Login, AllowSignup) would, with the outcome in
	// Guessed.User and Guessed.Created, or Guessed.SignupRefused when the
	// user does not exist and AllowSignup is false, or Guessed.UserBlocked
	// when AllowLogin refuses the user (the code is consumed all the same).
	Login       *User
	AllowSignup bool
	// Log, when set, is called inside the transaction with the outcome of
	// the guess once it was judged (and the blocks it created are in
	// Guessed.NewBlocks); the events it returns are appended to the tenant
	// log in the same transaction (one commit for a code check and its log
	// lines). It is not called when a bucket refused the guess (nothing
	// but the refill is written then), and may be called again when the
	// transaction is retried.
	Log func(Guessed, error) []Event
}

// Guessed is what GuessCode found.
type Guessed struct {
	Code      Code    // the code, on success
	Block     Block   // the block that refused the guess, with ErrBlocked
	NewBlocks []Block // the blocks this guess created
	Buckets   []Bucket
	// With Guard.Login, on success: the user logged in and whether it was
	// created, or SignupRefused.
	User          User
	Created       bool
	SignupRefused bool
	// UserBlocked: the code was right (and consumed) but AllowLogin
	// refused the user; User is the stored user, and nothing of the
	// login was recorded.
	UserBlocked bool
}

// Event is a tenant log event, as Auth0's GET /api/v2/logs shows it. It
// never holds a code, a secret, a token or a magic link.
type Event struct {
	// ID is the log_id: 56 decimal digits that begin with the time
	// (eventlog.NewID), so that IDs sort in the order events happened.
	ID          string
	Type        string // Auth0's log event type code: s, f, cls, limit_wc, ...
	Description string
	ClientID    string
	ClientName  string
	Connection  string // the connection's name
	// ConnectionID is the connection's id (con_...), when known.
	ConnectionID string
	UserID       string
	Identifier   string // user_name: the canonical email or phone number
	IP           string
	UserAgent    string
	// Details is a small JSON object (which grant or prompt, the error
	// code), or nil.
	Details   []byte
	CreatedAt time.Time
}

// DefaultEventRetention is how long events are kept unless configured
// otherwise: 30 days, as Auth0 keeps logs on its enterprise plans.
const DefaultEventRetention = 30 * 24 * time.Hour

// MaxEventPage is the most events one query returns (Auth0's per_page and
// take are capped at 100).
const MaxEventPage = 100

// EventQuery selects events for Events. The filters combine with AND; an
// empty one matches everything.
type EventQuery struct {
	Types    []string // any of these types
	UserID   string
	ClientID string
	// Since and Until bound CreatedAt: Since <= CreatedAt < Until (a zero
	// one is no bound).
	Since, Until time.Time

	// After switches to checkpoint paging (Auth0's from/take): the events
	// whose ID is greater than After, in ascending ID order, at most Take
	// (1 to MaxEventPage; 0 or more than MaxEventPage is MaxEventPage).
	// Page, PerPage, Ascending and IncludeTotal are ignored then.
	After string
	Take  int

	// Page (from 0) and PerPage (1 to MaxEventPage; 0 or more is
	// MaxEventPage) page through the events by date, newest first unless
	// Ascending; events of the same millisecond go by ID.
	Page      int
	PerPage   int
	Ascending bool
	// IncludeTotal asks for the number of events that match the filters.
	IncludeTotal bool
}

// EventPage is what Events returns.
type EventPage struct {
	Events []Event
	// Total is how many events match the filters, when IncludeTotal asked
	// for it; otherwise 0.
	Total int
}

// Limit is the page size q asks for, within 1..MaxEventPage.
func (q EventQuery) Limit() int {
	n := q.PerPage
	if q.After != "" {
		n = q.Take
	}
	if n <= 0 || n > MaxEventPage {
		return MaxEventPage
	}
	return n
}

// Offset is where q's page starts (0 for checkpoint paging).
func (q EventQuery) Offset() int {
	if q.After != "" || q.Page <= 0 {
		return 0
	}
	return q.Page * q.Limit()
}
