package management

// routes registers every route of the API: one line per family, each
// family's routes in its own file.
func (a *API) routes(rt *Router) {
	a.clientRoutes(rt)
	a.connectionRoutes(rt)
	a.resourceServerRoutes(rt)
	a.clientGrantRoutes(rt)
	a.keyRoutes(rt)
	a.logRoutes(rt)
	a.userRoutes(rt)
	a.userBlockRoutes(rt)
}
