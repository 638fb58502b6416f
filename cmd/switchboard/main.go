// Command switchboard runs the Switchboard panel: one binary with its
// database inside, serving the web pages and sending emails.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"switchboard"
	"switchboard/gateway"
	"switchboard/handlers"
	"switchboard/importer"
	"switchboard/mail"
	"switchboard/metrics"
	"switchboard/reports"
	"switchboard/scheduler"
	"switchboard/secretkey"
	"switchboard/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := NewMain()
	if err := m.ParseFlags(os.Args[1:], os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(2)
	}
	if m.BackupTo != "" {
		if err := m.Backup(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "switchboard:", err)
			os.Exit(1)
		}
		return
	}
	if len(m.Command) > 0 {
		if err := m.RunCommand(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "switchboard:", err)
			os.Exit(1)
		}
		return
	}
	if m.MigrateTo != "" {
		if err := m.Migrate(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "switchboard:", err)
			os.Exit(1)
		}
		return
	}
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		m.Close()
		os.Exit(1)
	}
	<-ctx.Done()
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

// Config is the panel's configuration, from flags and SWITCHBOARD_*
// environment variables.
type Config struct {
	Addr           string
	DB             string
	BaseURL        *url.URL
	SMTPURL        string
	MailFrom       string
	TrustedProxies []*net.IPNet

	// Currency is the instance's currency; Prices the price table (the
	// built-in one, or --prices FILE.csv).
	Currency switchboard.Currency
	Prices   *switchboard.PriceTable
	// Payments says how invoices get paid: "manual" (the operator marks
	// them paid) or "test" (paid at once).
	Payments string
	// Seller is the operator's company, printed on invoices.
	Seller switchboard.Party
	// DefaultSender is the From every organisation may use without
	// applying for a sender name.
	DefaultSender string
	// Gateway is "log" or the webhook's http(s):// URL; GatewaySecret
	// signs what goes to it and checks what comes back.
	Gateway       string
	GatewaySecret string
	// ReportAllowLoopback lets delivery-report URLs be http:// to this
	// machine (--report-allow-loopback).
	ReportAllowLoopback bool
	// APIRate is how many requests a second each API key may make.
	APIRate int
	// MetricsAddr, when set, is the address of a listener of its own that
	// serves /metrics (to anyone who reaches it); the panel's address then
	// no longer does. Empty: /metrics on the panel's address, to loopback
	// and trusted proxies only.
	MetricsAddr string
	// SecretKey seals two-factor secrets at rest (--secret-key); nil means
	// the key file (SecretKeyFile) is read, or made on first start.
	SecretKey *secretkey.Key
}

// Main is the running program. Tests start one on port 0 with a temporary
// database and a test SMTP server.
type Main struct {
	Config Config
	// BackupTo is set by "switchboard backup FILE": copy the database to
	// FILE instead of serving.
	BackupTo string
	// MigrateTo is set by "switchboard migrate-to postgres://…": copy the
	// SQLite database into that empty PostgreSQL database instead of
	// serving.
	MigrateTo string
	// Command is set by the operator's commands ("invoices mark-paid
	// INV-2026-000001", "sender-names list"): run it (see commands) instead
	// of serving.
	Command []string
	// Stdout receives the logs, and what the operator's commands print.
	Stdout io.Writer

	DB     *store.DB
	Server *handlers.Server
	Worker *mail.Worker
	// Deliveries is the delivery worker: it sends the queued messages
	// through the gateway of --gateway.
	Deliveries *gateway.Worker
	listener   net.Listener
	http       *http.Server
	// Metrics are the process' Prometheus metrics; metricsHTTP serves
	// them on --metrics-addr when given.
	Metrics         *metrics.Metrics
	metricsListener net.Listener
	metricsHTTP     *http.Server
	cancel          context.CancelFunc
	done            chan struct{}
	delivered       chan struct{} // closed when Deliveries has stopped
	logger          *slog.Logger

	// Campaigns is the scheduler: it starts the campaigns that are due.
	Campaigns *scheduler.Worker
	scheduled chan struct{} // closed when Campaigns has stopped
	// Imports runs the contact imports in the background.
	Imports  *importer.Worker
	imported chan struct{} // closed when Imports has stopped
	// Reports POSTs the organisations' delivery reports to their report
	// URLs.
	Reports  *reports.Worker
	reported chan struct{} // closed when Reports has stopped
}

// NewMain returns a Main with the defaults.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Config: Config{
		Addr: "localhost:8080", DB: "switchboard.db", MailFrom: "switchboard@localhost",
		Currency: switchboard.DefaultCurrency, Payments: "manual", DefaultSender: "Switchboard", Gateway: "log",
	}}
}

// ParseFlags reads args and the environment (each flag --name has the
// variable SWITCHBOARD_NAME; a flag given wins). Each bad value is one clear
// error naming the flag.
func (m *Main) ParseFlags(args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("switchboard", flag.ContinueOnError)
	fs.SetOutput(m.Stdout)
	env := func(name, def string) string {
		if v := getenv("SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); v != "" {
			return v
		}
		return def
	}
	addr := fs.String("addr", env("addr", m.Config.Addr), "address to listen on, host:port")
	db := fs.String("db", env("db", m.Config.DB), "SQLite database file, or a postgres:// URL")
	baseURL := fs.String("base-url", env("base-url", ""), "public address of the panel, for links in emails (default http://ADDR)")
	smtpURL := fs.String("smtp-url", env("smtp-url", ""), "SMTP server: smtp://user:pass@host:port (STARTTLS when offered; ?starttls=required to insist) or smtps://… (implicit TLS); empty prints emails to the log")
	mailFrom := fs.String("mail-from", env("mail-from", m.Config.MailFrom), "sender address of emails")
	proxies := fs.String("trusted-proxies", env("trusted-proxies", ""), "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For is trusted")
	currency := fs.String("currency", env("currency", string(m.Config.Currency)), "currency of balances, prices and invoices (ISO 4217 code)")
	prices := fs.String("prices", env("prices", ""), "price table CSV file (header country,prefix,price); empty uses the built-in table")
	payments := fs.String("payments", env("payments", m.Config.Payments), "how invoices get paid: manual (marked paid with \"switchboard invoices mark-paid NUMBER\") or test (paid at once)")
	sellerName := fs.String("seller-name", env("seller-name", m.Config.Seller.Name), "the operator's company name, printed on invoices")
	sellerAddress := fs.String("seller-address", env("seller-address", m.Config.Seller.Address), "the operator's address, printed on invoices (\\n for a new line)")
	sellerCountry := fs.String("seller-country", env("seller-country", m.Config.Seller.Country), "the operator's country (two-letter code), printed on invoices")
	sellerVAT := fs.String("seller-vat", env("seller-vat", m.Config.Seller.VATNumber), "the operator's VAT number, printed on invoices")
	sellerEmail := fs.String("seller-email", env("seller-email", m.Config.Seller.Email), "the operator's billing email, printed on invoices")
	defaultSender := fs.String("default-sender", env("default-sender", m.Config.DefaultSender), "the sender name every organisation may send from without applying")
	gateway := fs.String("gateway", env("gateway", m.Config.Gateway), "where messages leave: log (written to the log and marked delivered) or the webhook's http(s):// URL")
	gatewaySecret := fs.String("gateway-secret", env("gateway-secret", m.Config.GatewaySecret), "the secret that signs webhook calls both ways (required with a webhook --gateway)")
	defaultLoopback, err := strconv.ParseBool(env("report-allow-loopback", strconv.FormatBool(m.Config.ReportAllowLoopback)))
	if err != nil {
		return errors.New("SWITCHBOARD_REPORT_ALLOW_LOOPBACK: give true or false")
	}
	defaultRate, err := strconv.Atoi(env("api-rate", strconv.Itoa(m.Config.APIRate)))
	if err != nil {
		return errors.New("SWITCHBOARD_API_RATE: give the requests a second each API key may make, as a whole number")
	}
	reportLoopback := fs.Bool("report-allow-loopback", defaultLoopback, "let organisations' delivery-report URLs be http:// to this machine (a receiver beside the panel, or tests); otherwise https:// only, never to this machine or a private network")
	apiRate := fs.Int("api-rate", defaultRate, "requests a second each API key may make (and a burst of as many)")
	metricsAddr := fs.String("metrics-addr", env("metrics-addr", m.Config.MetricsAddr), "address of a listener of its own for /metrics, host:port; empty serves /metrics on --addr to loopback and trusted proxies only")
	secretKey := fs.String("secret-key", env("secret-key", ""), "key sealing two-factor secrets: 32 random bytes as 64 hexadecimal digits or base64 (openssl rand -hex 32); empty reads DB.key beside an SQLite database, or switchboard.key in the working folder for PostgreSQL, and makes it on first start")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m.Config.ReportAllowLoopback = *reportLoopback
	if *apiRate < 0 {
		return fmt.Errorf("--api-rate: %d is not a rate; give the requests a second each API key may make, or 0 for the default (%d)", *apiRate, handlers.DefaultAPIRate)
	}
	m.Config.APIRate = *apiRate
	if *secretKey != "" {
		k, err := secretkey.Parse(*secretKey)
		if err != nil {
			return errors.New("--secret-key: give 32 random bytes as 64 hexadecimal digits or in base64, as made by: openssl rand -hex 32")
		}
		m.Config.SecretKey = k
	}
	switch {
	case fs.NArg() > 0 && commands[fs.Arg(0)] != nil:
		m.Command = fs.Args()
	case fs.NArg() == 2 && fs.Arg(0) == "backup":
		m.BackupTo = fs.Arg(1)
	case fs.NArg() > 0 && fs.Arg(0) == "backup":
		return errors.New("backup: name the file to write, as in: switchboard --db switchboard.db backup backup.db")
	case fs.NArg() == 2 && fs.Arg(0) == "migrate-to":
		if !store.IsPostgres(fs.Arg(1)) {
			return errors.New("migrate-to: name the PostgreSQL database to copy into as a postgres:// URL, as in: switchboard --db switchboard.db migrate-to postgres://switchboard:PASSWORD@localhost/switchboard")
		}
		if store.IsPostgres(*db) {
			return errors.New("migrate-to: --db must name the SQLite file to copy from; the database named is PostgreSQL already")
		}
		m.MigrateTo = fs.Arg(1)
	case fs.NArg() > 0 && fs.Arg(0) == "migrate-to":
		return errors.New("migrate-to: name the PostgreSQL database to copy into, as in: switchboard --db switchboard.db migrate-to postgres://switchboard:PASSWORD@localhost/switchboard")
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q; the commands are %s; see --help", fs.Arg(0), commandList())
	}

	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("--addr: %q is not host:port (for example localhost:8080)", *addr)
	}
	m.Config.Addr = *addr
	if *metricsAddr != "" {
		if _, _, err := net.SplitHostPort(*metricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr: %q is not host:port (for example localhost:9090)", *metricsAddr)
		}
	}
	m.Config.MetricsAddr = *metricsAddr
	if *db == "" {
		return errors.New("--db: a database file path is required")
	}
	m.Config.DB = *db

	if *baseURL == "" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		*baseURL = "http://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(*baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("--base-url: %q is not an http:// or https:// address such as https://panel.example.com", *baseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	m.Config.BaseURL = u

	if *smtpURL != "" {
		if _, err := mail.ParseSMTPURL(*smtpURL); err != nil {
			return fmt.Errorf("--smtp-url: %v", err)
		}
	}
	m.Config.SMTPURL = *smtpURL
	if err := mail.ValidateFrom(*mailFrom); err != nil {
		return fmt.Errorf("--mail-from: %v", err)
	}
	m.Config.MailFrom = *mailFrom

	m.Config.TrustedProxies = nil
	for _, p := range strings.Split(*proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			ip := net.ParseIP(p)
			if ip == nil {
				return fmt.Errorf("--trusted-proxies: %q is not an IP address or CIDR range", p)
			}
			bits := 32
			if ip.To4() == nil {
				bits = 128
			}
			p = fmt.Sprintf("%s/%d", p, bits)
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return fmt.Errorf("--trusted-proxies: %q is not an IP address or CIDR range", p)
		}
		m.Config.TrustedProxies = append(m.Config.TrustedProxies, n)
	}

	m.Config.Currency = switchboard.Currency(strings.ToUpper(strings.TrimSpace(*currency)))
	if !switchboard.ValidCurrency(m.Config.Currency) {
		return fmt.Errorf("--currency: %q is not a currency code; give three letters such as EUR, USD or GBP", *currency)
	}
	m.Config.Prices = switchboard.DefaultPrices()
	if *prices != "" {
		f, err := os.Open(*prices)
		if err != nil {
			return fmt.Errorf("--prices: cannot read %s: %v", *prices, err)
		}
		t, err := switchboard.ParsePrices(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("--prices: %s: %v", *prices, err)
		}
		m.Config.Prices = t
	}
	switch *payments {
	case "manual", "test":
		m.Config.Payments = *payments
	default:
		return fmt.Errorf("--payments: %q is not a payment setting; give manual (invoices marked paid by the operator) or test (paid at once)", *payments)
	}
	m.Config.Seller = switchboard.Party{
		Name: strings.TrimSpace(*sellerName), Address: strings.ReplaceAll(strings.TrimSpace(*sellerAddress), `\n`, "\n"),
		Country: strings.ToUpper(strings.TrimSpace(*sellerCountry)), VATNumber: strings.TrimSpace(*sellerVAT), Email: strings.TrimSpace(*sellerEmail),
	}
	m.Config.DefaultSender = strings.TrimSpace(*defaultSender)
	if msg := switchboard.SenderNameProblem(m.Config.DefaultSender); msg != "" {
		return fmt.Errorf("--default-sender: %q: %s", *defaultSender, msg)
	}
	m.Config.Gateway, m.Config.GatewaySecret = strings.TrimSpace(*gateway), *gatewaySecret
	if m.Config.Gateway != "log" {
		u, err := url.Parse(m.Config.Gateway)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--gateway: %q is neither log nor an http:// or https:// address of a webhook", m.Config.Gateway)
		}
		if len(m.Config.GatewaySecret) < 16 {
			return errors.New("--gateway-secret: a webhook gateway needs a secret of at least 16 characters to sign its calls (both ways)")
		}
	}
	return nil
}

// Run opens the database, starts the mail worker and the web server, and
// returns once the server listens. It listens first: a port already taken
// stops it before the database file is created or touched.
func (m *Main) Run(ctx context.Context) (err error) {
	m.logger = slog.New(slog.NewJSONHandler(m.Stdout, nil))
	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("--addr: cannot listen on %s: %v", m.Config.Addr, err)
	}
	defer func() {
		if err != nil && m.http == nil {
			ln.Close()
		}
	}()

	var metricsLn net.Listener
	if m.Config.MetricsAddr != "" {
		metricsLn, err = net.Listen("tcp", m.Config.MetricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr: cannot listen on %s: %v", m.Config.MetricsAddr, err)
		}
		defer func() {
			if err != nil && m.metricsHTTP == nil {
				metricsLn.Close()
			}
		}()
	}

	db, err := store.Open(ctx, m.Config.DB)
	if err != nil {
		return err
	}
	m.DB = db
	m.Metrics = metrics.New(db, m.logger)
	key, err := m.secretKey()
	if err != nil {
		return err
	}

	var sender mail.Sender = mail.LogSender{Logger: m.logger, Out: m.Stdout}
	if m.Config.SMTPURL != "" {
		s, err := mail.NewSMTPSender(m.Config.SMTPURL, m.Config.MailFrom)
		if err != nil {
			return fmt.Errorf("--smtp-url: %v", err)
		}
		sender = s
	}
	m.Worker = mail.NewWorker(db, sender, m.logger)

	var gw gateway.Gateway = gateway.Log{Logger: m.logger}
	if m.Config.Gateway != "" && m.Config.Gateway != "log" {
		wh, err := gateway.NewWebhook(m.Config.Gateway, m.Config.GatewaySecret)
		if err != nil {
			return fmt.Errorf("--gateway: %v", err)
		}
		gw = wh
	}
	m.Deliveries = gateway.NewWorker(db, gw, m.logger)
	m.Campaigns = scheduler.NewWorker(db, m.Config.Prices, m.Config.Currency, m.Deliveries, m.logger)
	m.Imports = importer.NewWorker(db, m.logger)
	m.Reports = reports.NewWorker(db, m.Config.ReportAllowLoopback, m.logger)

	m.Server = handlers.New(db, handlers.Config{
		BaseURL:        m.Config.BaseURL,
		TrustedProxies: m.Config.TrustedProxies,
		Logger:         m.logger,
		Mail:           m.Worker,
		Currency:       m.Config.Currency,
		Prices:         m.Config.Prices,
		Payments:       m.Config.Payments,
		Seller:         m.Config.Seller,
		DefaultSender:  m.Config.DefaultSender,
		GatewaySecret:  m.Config.GatewaySecret,
		Deliveries:     m.Deliveries,
		Campaigns:      m.Campaigns,
		Imports:        m.Imports,

		ReportAllowLoopback: m.Config.ReportAllowLoopback,
		Reports:             m.Reports,
		APIRate:             m.Config.APIRate,
		Metrics:             m.Metrics,
		MetricsOnMain:       m.Config.MetricsAddr == "",
		SecretKey:           key,
	})

	m.listener = ln

	bg, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		m.Worker.Run(bg)
	}()
	m.delivered = make(chan struct{})
	go func() {
		defer close(m.delivered)
		m.Deliveries.Run(bg)
	}()
	// The scheduler starts, at once, the campaigns that fell due while no
	// process ran.
	m.scheduled = make(chan struct{})
	go func() {
		defer close(m.scheduled)
		m.Campaigns.Run(bg)
	}()
	m.imported = make(chan struct{})
	go func() {
		defer close(m.imported)
		m.Imports.Run(bg)
	}()
	m.reported = make(chan struct{})
	go func() {
		defer close(m.reported)
		m.Reports.Run(bg)
	}()
	m.Server.StartBackground(bg)

	m.http = &http.Server{
		Handler: m.Server,
		// The panel's requests carry a few cookies: 64 KB of headers is
		// plenty, and 150 slow clients cannot hold a megabyte each (the
		// default) for long.
		MaxHeaderBytes:    64 << 10,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.logger.Error("serve", "err", err)
		}
	}()
	if metricsLn != nil {
		m.metricsListener = metricsLn
		mux := http.NewServeMux()
		mux.Handle("GET "+metricsPath, m.Metrics.Handler())
		m.metricsHTTP = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 60 * time.Second, ErrorLog: slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn)}
		go func() {
			if err := m.metricsHTTP.Serve(metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.logger.Error("serve metrics", "err", err)
			}
		}()
		m.logger.Info("metrics are listening", "addr", metricsLn.Addr().String())
	}
	m.logger.Info("switchboard is listening", "addr", ln.Addr().String(), "url", m.Config.BaseURL.String(), "db", redacted(m.Config.DB), "smtp", m.Config.SMTPURL != "", "gateway", fmt.Sprint(gw))
	return nil
}

// Backup writes a consistent copy of the database to m.BackupTo with
// VACUUM INTO; it works while a server uses the same file.
func (m *Main) Backup(ctx context.Context) error {
	if _, err := os.Stat(m.BackupTo); err == nil {
		return fmt.Errorf("backup: %s already exists; name a new file", m.BackupTo)
	}
	db, err := store.Open(ctx, m.Config.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, m.BackupTo); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "switchboard: backed up %s to %s\n", m.Config.DB, m.BackupTo)
	return nil
}

// Migrate copies the SQLite database into the empty PostgreSQL database
// m.MigrateTo (store.CopyTo), printing each table with its rows and then
// what to do next. The URL's password is never printed.
func (m *Main) Migrate(ctx context.Context) error {
	if _, err := os.Stat(m.Config.DB); err != nil {
		return fmt.Errorf("migrate-to: the SQLite database %s cannot be read (%v); name it with --db", m.Config.DB, err)
	}
	db, err := store.Open(ctx, m.Config.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	report, err := db.CopyTo(ctx, m.MigrateTo)
	if err != nil {
		return fmt.Errorf("migrate-to: %w; no data was copied", err)
	}
	for _, t := range report.Tables {
		unit := "rows"
		if t.Rows == 1 {
			unit = "row"
		}
		fmt.Fprintf(m.Stdout, "%-20s %d %s\n", t.Name, t.Rows, unit)
	}
	fmt.Fprintf(m.Stdout, "switchboard: copied %s to %s; start the panel with --db set to that postgres:// URL, and keep %s as a backup\n", m.Config.DB, report.Target, m.Config.DB)
	return nil
}

// redacted is the database name for the log: a postgres:// URL with its
// password replaced, so that logs shipped elsewhere do not carry it.
func redacted(db string) string {
	if !store.IsPostgres(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "(a postgres:// URL that could not be read)"
	}
	return u.Redacted()
}

// URL is the address the server listens on, for tests.
func (m *Main) URL() string { return "http://" + m.listener.Addr().String() }

// MetricsURL is the address of /metrics on --metrics-addr, for tests; empty
// without it.
func (m *Main) MetricsURL() string {
	if m.metricsListener == nil {
		return ""
	}
	return "http://" + m.metricsListener.Addr().String() + metricsPath
}

// metricsPath is where Prometheus scrapes, on either address.
const metricsPath = "/metrics"

// drainTimeout bounds how long Close waits for requests in flight, so that
// the whole stop fits in the 10 s that service managers (docker stop among
// them) give before they kill.
const drainTimeout = 8 * time.Second

// Close drains requests in flight, stops the mail and delivery workers and
// closes the database, within about drainTimeout whatever the SMTP server
// and the gateway do.
func (m *Main) Close() error {
	var errs []error
	// The mail worker stops at once, beside the drain: the connections of
	// deliveries under way are closed and those emails stay queued, with the
	// attempt not counted, so a stuck SMTP server cannot hold the stop.
	// Emails that the last requests queue are sent at the next start.
	if m.cancel != nil {
		m.cancel()
	}
	if m.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
		errs = append(errs, m.http.Shutdown(ctx))
		cancel()
	}
	if m.metricsHTTP != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		errs = append(errs, m.metricsHTTP.Shutdown(ctx))
		cancel()
	}
	if m.scheduled != nil {
		// A start under way finishes (one transaction of a few seconds
		// at most) before the database closes.
		<-m.scheduled
	}
	if m.delivered != nil {
		// The delivery worker cut its calls under way when m.cancel ran:
		// their messages are given back to the queue untried, and the
		// outcomes already known are recorded, before the database
		// closes.
		<-m.delivered
	}
	if m.imported != nil {
		// The import under way stops after its current batch; the next
		// start resumes it from there.
		<-m.imported
	}
	if m.reported != nil {
		// The report worker cut its calls under way when m.cancel ran:
		// their reports are given back untried before the database
		// closes, and go out at the next start.
		<-m.reported
	}
	if m.done != nil {
		<-m.done
		// Queued jobs (password reset emails) reach the outbox before the
		// database closes.
		m.Server.WaitBackground()
	}
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	if m.logger != nil {
		m.logger.Info("switchboard stopped")
	}
	return errors.Join(errs...)
}

// SecretKeyFile is where the key sealing two-factor secrets is kept when
// --secret-key is not given: beside an SQLite database (switchboard.db.key),
// or switchboard.key in the working folder for PostgreSQL. It must be backed
// up with the database: without it no two-factor secret can be read.
func SecretKeyFile(db string) string {
	if store.IsPostgres(db) {
		return "switchboard.key"
	}
	return db + ".key"
}

// secretKey is --secret-key, or the key file, made on first start.
func (m *Main) secretKey() (*secretkey.Key, error) {
	if m.Config.SecretKey != nil {
		return m.Config.SecretKey, nil
	}
	path := SecretKeyFile(m.Config.DB)
	key, created, err := secretkey.LoadOrCreate(path)
	if err != nil {
		return nil, fmt.Errorf("--secret-key: not given, and the key file cannot be used: %v", err)
	}
	if created {
		m.logger.Warn("made a new secret key for two-factor secrets: back it up with the database", "file", path)
	}
	return key, nil
}
