package handlers

import (
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"switchboard"
	"switchboard/static"
)

// routes lists every route of the panel in one place.
func (s *Server) routes() {
	e := s.echo
	// The access log comes first: it renders any error left over (a panic,
	// an oversized body) before writing the status that was sent.
	e.Use(s.logRequests, middleware.Recover(), s.securityHeaders)
	e.Use(limitBody)
	e.Use(s.sessionMiddleware, s.readImportUpload, s.csrf(), s.loadProfile)

	// Public.
	e.GET("/healthz", s.handleHealth)
	e.GET("/static/*", staticFiles(static.FS))
	e.GET("/", s.handleHome)
	e.GET("/signup", s.handleSignupForm)
	e.POST("/signup", s.handleSignup)
	e.GET("/login", s.handleLoginForm)
	e.POST("/login", s.handleLogin)
	// The second step of a login with two-factor on (handlers/twofactorlogin.go).
	e.GET("/login/two-factor", s.handleTwoFactorLoginForm)
	e.POST("/login/two-factor", s.handleTwoFactorLogin)
	e.POST("/logout", s.handleLogout)
	e.GET("/password/forgot", s.handleForgotForm)
	e.POST("/password/forgot", s.handleForgot)
	e.GET("/password/reset/:token", s.handleResetForm)
	e.POST("/password/reset/:token", s.handleReset)
	e.GET("/invitations/:token", s.handleInvitation)
	e.POST("/invitations/:token", s.handleInvitationAccept)
	e.POST("/invitations/:token/signup", s.handleInvitationSignup)
	// A subscription link's public page: no login, CSRF and security
	// headers as everywhere (handlers/public.go).
	e.GET("/s/:token", s.handleJoinForm)
	e.POST("/s/:token", s.handleJoin)
	e.GET("/s/:token/thanks", s.handleJoined)
	// The webhook gateway's callbacks: signed, without session or CSRF
	// token (handlers/gateway.go).
	e.POST(pathGatewayReports, s.handleGatewayReport)
	e.POST(pathGatewayInbound, s.handleGatewayInbound)

	// Logged in.
	in := s.requireProfile
	e.GET("/account", s.handleAccount, in)
	e.POST("/account", s.handleAccountSave, in)
	e.POST("/account/password", s.handlePasswordChange, in)
	e.POST("/account/sessions", s.handleLogoutOthers, in)
	// Two-factor authentication (handlers/twofactor.go).
	e.GET("/account/two-factor", s.handleTwoFactor, in)
	e.POST("/account/two-factor/setup", s.handleTwoFactorSetup, in)
	e.POST("/account/two-factor/enable", s.handleTwoFactorEnable, in)
	e.POST("/account/two-factor/recovery-codes", s.handleRecoveryCodesRegenerate, in)
	e.POST("/account/two-factor/recovery-codes.txt", s.handleRecoveryCodesDownload, in)
	e.POST("/account/two-factor/disable", s.handleTwoFactorDisable, in)
	e.GET("/orgs", s.handleOrgList, in)
	e.GET("/orgs/new", s.handleOrgNewForm, in)
	e.POST("/orgs/new", s.handleOrgCreate, in)

	// Inside an organisation: each route with the permission it needs.
	org := e.Group("/orgs/:org", s.requireProfile, s.loadMembership)
	s.orgRoute(org, http.MethodGet, "", "", s.handleDashboard)
	s.orgRoute(org, http.MethodGet, "/settings", switchboard.PermOrganisation, s.handleSettings)
	s.orgRoute(org, http.MethodPost, "/settings", switchboard.PermOrganisation, s.handleSettingsSave)
	s.orgRoute(org, http.MethodPost, "/settings/members-policy", switchboard.PermOwnership, s.handleMembersPolicy)
	s.orgRoute(org, http.MethodPost, "/settings/two-factor", switchboard.PermOwnership, s.handleRequireTwoFactor)
	s.orgRoute(org, http.MethodPost, "/transfer", switchboard.PermOwnership, s.handleTransfer)
	s.orgRoute(org, http.MethodPost, "/delete", switchboard.PermOwnership, s.handleOrgDelete)
	// Every destructive action has a GET confirmation page at the address
	// of its POST, with the same permission.
	s.orgRoute(org, http.MethodGet, "/leave", "", s.handleLeaveConfirm)
	s.orgRoute(org, http.MethodPost, "/leave", "", s.handleLeave)
	s.orgRoute(org, http.MethodGet, "/members", switchboard.PermMembers, s.handleMembers)
	s.orgRoute(org, http.MethodPost, "/members", switchboard.PermMembers, s.handleInvite)
	s.orgRoute(org, http.MethodGet, "/members/:profile", switchboard.PermMembers, s.handleMember)
	s.orgRoute(org, http.MethodPost, "/members/:profile/role", switchboard.PermMembers, s.handleMemberRole)
	s.orgRoute(org, http.MethodGet, "/members/:profile/revoke", switchboard.PermMembers, s.handleMemberRevokeConfirm)
	s.orgRoute(org, http.MethodPost, "/members/:profile/revoke", switchboard.PermMembers, s.handleMemberRevoke)
	// The invitation form posted here before it posted to /members; kept
	// for pages still open since, and for scripts.
	s.orgRoute(org, http.MethodPost, "/invitations", switchboard.PermMembers, s.handleInvite)
	s.orgRoute(org, http.MethodPost, "/invitations/:invitation/resend", switchboard.PermMembers, s.handleInvitationResend)
	s.orgRoute(org, http.MethodGet, "/invitations/:invitation/cancel", switchboard.PermMembers, s.handleInvitationCancelConfirm)
	s.orgRoute(org, http.MethodPost, "/invitations/:invitation/cancel", switchboard.PermMembers, s.handleInvitationCancel)
	// Whoever manages members, and the owner of a subaccount, which has
	// no Members section but an audit log of its owner's own actions.
	s.orgRouteAllowing(org, http.MethodGet, "/audit", switchboard.PermMembers, (*switchboard.Membership).CanReadAudit, s.handleAudit)
	s.orgRoute(org, http.MethodGet, "/roles", switchboard.PermOwnership, s.handleRoles)
	s.orgRoute(org, http.MethodPost, "/roles", switchboard.PermOwnership, s.handleRoleCreate)
	s.orgRoute(org, http.MethodPost, "/roles/:role", switchboard.PermOwnership, s.handleRoleUpdate)
	s.orgRoute(org, http.MethodGet, "/roles/:role/delete", switchboard.PermOwnership, s.handleRoleDeleteConfirm)
	s.orgRoute(org, http.MethodPost, "/roles/:role/delete", switchboard.PermOwnership, s.handleRoleDelete)
	s.orgRoute(org, http.MethodGet, "/credits", switchboard.PermCredits, s.handleCredits)
	s.orgRoute(org, http.MethodPost, "/credits", switchboard.PermCredits, s.handleCreditsAdd)
	s.orgRoute(org, http.MethodGet, "/invoices", switchboard.PermInvoices, s.handleInvoices)
	s.orgRoute(org, http.MethodGet, "/invoices/:number", switchboard.PermInvoices, s.handleInvoice)
	s.orgRoute(org, http.MethodGet, "/invoices/:number/pdf", switchboard.PermInvoices, s.handleInvoicePDF)
	s.orgRoute(org, http.MethodGet, "/messages/new", switchboard.PermMessages, s.handleSendForm)
	s.orgRoute(org, http.MethodPost, "/messages/new", switchboard.PermMessages, s.handleSend)
	s.orgRoute(org, http.MethodPost, "/messages/preview", switchboard.PermMessages, s.handleSendPreview)
	s.orgRoute(org, http.MethodGet, "/auto-replace", switchboard.PermAutoReplace, s.handleAutoReplace)
	s.orgRoute(org, http.MethodPost, "/auto-replace", switchboard.PermAutoReplace, s.handleAutoReplaceSave)
	s.orgRoute(org, http.MethodGet, "/history", switchboard.PermHistory, s.handleHistory)
	s.orgRoute(org, http.MethodGet, "/history.csv", switchboard.PermHistory, s.handleHistoryCSV)
	s.orgRoute(org, http.MethodGet, "/sender-names", switchboard.PermSenderNames, s.handleSenderNames)
	s.orgRoute(org, http.MethodPost, "/sender-names", switchboard.PermSenderNames, s.handleSenderNameApply)
	s.orgRoute(org, http.MethodGet, "/subscription-links", switchboard.PermSubscriptionLinks, s.handleLinks)
	s.orgRoute(org, http.MethodPost, "/subscription-links", switchboard.PermSubscriptionLinks, s.handleLinkCreate)
	s.orgRoute(org, http.MethodGet, "/subscription-links/:link/off", switchboard.PermSubscriptionLinks, s.handleLinkSwitchConfirm(false))
	s.orgRoute(org, http.MethodPost, "/subscription-links/:link/off", switchboard.PermSubscriptionLinks, s.handleLinkSwitch(false))
	s.orgRoute(org, http.MethodGet, "/subscription-links/:link/on", switchboard.PermSubscriptionLinks, s.handleLinkSwitchConfirm(true))
	s.orgRoute(org, http.MethodPost, "/subscription-links/:link/on", switchboard.PermSubscriptionLinks, s.handleLinkSwitch(true))
	s.orgRoute(org, http.MethodGet, "/products", switchboard.PermProducts, s.handleProducts)
	s.orgRoute(org, http.MethodPost, "/products", switchboard.PermProducts, s.handleProductRequest)
	s.orgRoute(org, http.MethodGet, "/campaigns", switchboard.PermCampaigns, s.handleCampaigns)
	s.orgRoute(org, http.MethodGet, "/campaigns/new", switchboard.PermCampaigns, s.handleCampaignNewForm)
	s.orgRoute(org, http.MethodPost, "/campaigns/new", switchboard.PermCampaigns, s.handleCampaignCreate)
	s.orgRoute(org, http.MethodPost, "/campaigns/preview", switchboard.PermCampaigns, s.handleCampaignPreview)
	s.orgRoute(org, http.MethodGet, "/campaigns/:campaign", switchboard.PermCampaigns, s.handleCampaign)
	s.orgRoute(org, http.MethodGet, "/campaigns/:campaign/edit", switchboard.PermCampaigns, s.handleCampaignEditForm)
	s.orgRoute(org, http.MethodPost, "/campaigns/:campaign/edit", switchboard.PermCampaigns, s.handleCampaignEdit)
	s.orgRoute(org, http.MethodGet, "/campaigns/:campaign/cancel", switchboard.PermCampaigns, s.handleCampaignCancelConfirm)
	s.orgRoute(org, http.MethodPost, "/campaigns/:campaign/cancel", switchboard.PermCampaigns, s.handleCampaignCancel)
	// The contact import (handlers/import.go); its upload is the one route
	// that takes a body over 1 MB (limitBody).
	s.orgRoute(org, http.MethodGet, "/contacts/import", switchboard.PermContacts, s.handleImportForm)
	s.orgRoute(org, http.MethodPost, "/contacts/import", switchboard.PermContacts, s.handleImportUpload)
	s.orgRoute(org, http.MethodGet, "/contacts/import/:import", switchboard.PermContacts, s.handleImport)
	s.orgRoute(org, http.MethodPost, "/contacts/import/:import", switchboard.PermContacts, s.handleImportStart)
	s.orgRoute(org, http.MethodGet, "/contacts/import/:import/progress", switchboard.PermContacts, s.handleImportProgress)
	s.orgRoute(org, http.MethodGet, "/contacts/import/:import/problems.csv", switchboard.PermContacts, s.handleImportProblems)
	s.orgRoute(org, http.MethodGet, "/contacts", switchboard.PermContacts, s.handleContacts)
	s.orgRoute(org, http.MethodGet, "/contacts.csv", switchboard.PermContacts, s.handleContactsCSV)
	s.orgRoute(org, http.MethodGet, "/contacts/new", switchboard.PermContacts, s.handleContactNew)
	s.orgRoute(org, http.MethodPost, "/contacts/new", switchboard.PermContacts, s.handleContactCreate)
	s.orgRoute(org, http.MethodGet, "/contacts/:contact", switchboard.PermContacts, s.handleContact)
	s.orgRoute(org, http.MethodPost, "/contacts/:contact", switchboard.PermContacts, s.handleContactSave)
	s.orgRoute(org, http.MethodGet, "/contacts/:contact/delete", switchboard.PermContacts, s.handleContactDeleteConfirm)
	s.orgRoute(org, http.MethodPost, "/contacts/:contact/delete", switchboard.PermContacts, s.handleContactDelete)
	s.orgRoute(org, http.MethodGet, "/groups", switchboard.PermContacts, s.handleGroups)
	s.orgRoute(org, http.MethodPost, "/groups", switchboard.PermContacts, s.handleGroupCreate)
	s.orgRoute(org, http.MethodPost, "/groups/:group", switchboard.PermContacts, s.handleGroupRename)
	s.orgRoute(org, http.MethodGet, "/groups/:group/delete", switchboard.PermContacts, s.handleGroupDeleteConfirm)
	s.orgRoute(org, http.MethodPost, "/groups/:group/delete", switchboard.PermContacts, s.handleGroupDelete)
	// API keys and the API configuration (handlers/apikeys.go,
	// handlers/apiconfig.go); the API itself is apiRoutesV1.
	s.orgRoute(org, http.MethodGet, "/api-keys", switchboard.PermAPI, s.handleAPIKeys)
	s.orgRoute(org, http.MethodPost, "/api-keys", switchboard.PermAPI, s.handleAPIKeyCreate)
	s.orgRoute(org, http.MethodGet, "/api-keys/:key/revoke", switchboard.PermAPI, s.handleAPIKeyRevokeConfirm)
	s.orgRoute(org, http.MethodPost, "/api-keys/:key/revoke", switchboard.PermAPI, s.handleAPIKeyRevoke)
	s.orgRoute(org, http.MethodGet, "/api", switchboard.PermAPI, s.handleAPI)
	s.orgRoute(org, http.MethodPost, "/api", switchboard.PermAPI, s.handleAPISave)
	s.orgRoute(org, http.MethodGet, "/api/secret", switchboard.PermAPI, s.handleReportSecretConfirm)
	s.orgRoute(org, http.MethodPost, "/api/secret", switchboard.PermAPI, s.handleReportSecret)
	// Subaccounts (handlers/subaccounts.go): the parent's list, form and
	// statistics, and each subaccount's page and actions. The statistics'
	// CSV is /subaccounts/statistics.csv.
	s.orgRoute(org, http.MethodGet, "/subaccounts", switchboard.PermSubaccounts, s.handleSubaccounts)
	s.orgRoute(org, http.MethodPost, "/subaccounts", switchboard.PermSubaccounts, s.handleSubaccountCreate)
	s.orgRoute(org, http.MethodGet, "/subaccounts/:sub", switchboard.PermSubaccounts, s.handleSubaccount)
	s.orgRoute(org, http.MethodPost, "/subaccounts/:sub/funding", switchboard.PermSubaccounts, s.handleSubaccountFunding)
	s.orgRoute(org, http.MethodPost, "/subaccounts/:sub/resend", switchboard.PermSubaccounts, s.handleSubaccountResend)
	for _, a := range []subaccountAction{suspendSubaccount, resumeSubaccount, closeSubaccount, cancelSubaccount} {
		s.orgRoute(org, http.MethodGet, "/subaccounts/:sub/"+a.path, switchboard.PermSubaccounts, a.confirm(s))
		s.orgRoute(org, http.MethodPost, "/subaccounts/:sub/"+a.path, switchboard.PermSubaccounts, a.post(s))
	}
	// The subaccounts' statistics as CSV (handlers/subaccountstats.go);
	// the statistics themselves are on the Subaccounts page.
	s.orgRoute(org, http.MethodGet, "/subaccounts/statistics.csv", switchboard.PermSubaccounts, s.handleSubaccountStatsCSV)
}

// Routes lists every route the server answers, as "METHOD path", for the
// authorization tests: a route inside an organisation that was not added
// through orgRoute shows up here and not in OrgRoutes.
func (s *Server) Routes() []string {
	var list []string
	for _, r := range s.echo.Routes() {
		list = append(list, r.Method+" "+r.Path)
	}
	return list
}

// staticFiles serves the embedded files with a day of caching. It serves
// files only: a folder (/static/, /static/anything/) answers the panel's
// 404 page, as http.FileServer would otherwise list what is in it.
func staticFiles(fsys fs.FS) echo.HandlerFunc {
	files := http.StripPrefix("/static/", http.FileServer(http.FS(fsys)))
	return func(c echo.Context) error {
		name := strings.TrimPrefix(c.Request().URL.Path, "/static/")
		if !fs.ValidPath(name) {
			return echo.ErrNotFound
		}
		if info, err := fs.Stat(fsys, name); err != nil || info.IsDir() {
			return echo.ErrNotFound
		}
		c.Response().Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

func (s *Server) handleHealth(c echo.Context) error {
	if err := s.db.Ping(c.Request().Context()); err != nil {
		s.logger.Error("health check", "err", err)
		return c.String(http.StatusServiceUnavailable, "database unavailable\n")
	}
	return c.String(http.StatusOK, "ok\n")
}

// handleHome sends a logged-in person to the organisation they used last,
// and everyone else to the login page.
func (s *Server) handleHome(c echo.Context) error {
	p := switchboard.ProfileFromContext(c.Request().Context())
	if p == nil {
		return redirect(c, "/login")
	}
	return redirect(c, s.landing(c, p))
}

// apiRoutesV1 lists every route of the JSON API (handlers/api.go), each
// needing a key unless added with apiPublicRoute.
func (s *Server) apiRoutesV1() {
	s.apiPublicRoute(http.MethodGet, "/openapi.json", s.handleOpenAPI)
	s.apiRoute(http.MethodGet, "/contacts", s.handleAPIContacts)
	s.apiRoute(http.MethodPost, "/contacts", s.handleAPIContactCreate)
	s.apiRoute(http.MethodGet, "/contacts/:id", s.handleAPIContact)
	s.apiRoute(http.MethodPut, "/contacts/:id", s.handleAPIContactSave)
	s.apiRoute(http.MethodDelete, "/contacts/:id", s.handleAPIContactDelete)
	s.apiRoute(http.MethodGet, "/balance", s.handleAPIBalance)
	// Messages (handlers/apimessages.go).
	s.apiRoute(http.MethodPost, "/messages", s.handleAPISend)
	s.apiRoute(http.MethodGet, "/messages", s.handleAPIMessages)
	s.apiRoute(http.MethodGet, "/messages/:id", s.handleAPIMessage)
}
