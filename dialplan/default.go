package dialplan

// Default is the dial plan a new installation starts with. The numbering
// plan (extensions, ring groups, IVR menus, conferences, feature codes) works
// without any dial-plan entry; the dial plan adds routes beyond it, such as
// outbound trunk routes and inbound DIDs, and gains its language with its own
// issue.
const Default = `# Dial plan.
# Internal numbers (extensions, ring groups, IVR menus, conference rooms) and
# feature codes (*43 echo test, *97 voicemail, ...) are reached without any
# entry here. Routes to trunks and inbound DID routing go below.
`
