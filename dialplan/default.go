package dialplan

// Default is the dial plan a new installation starts with. It is valid but
// routes nothing itself: the numbering plan needs no rule, and the examples
// are comments for the administrator to adapt.
const Default = `# Dial plan: the routes beyond the numbering plan. The language is
# described in docs/dialplan.md.
#
# Extensions, ring groups, IVR menus, conference rooms and feature codes
# (*43 echo test, *97 voicemail, ...) are reached without any rule here:
# for a call from an extension the PBX tries the numbering plan first and
# asks this plan (starting in context internal) about every other number.

# Time conditions read this zone (UTC when not set):
# timezone "Europe/Berlin"
#
# hours office {
#     mon-fri 08:30-17:00
#     closed 2026-12-24..2026-12-26
# }

context internal {
    # Emergency numbers, allowed whatever the caller's outbound class:
    # rule 112, 911 {
    #     dial trunk:pstn:${number}
    # }
    #
    # 9 + number out through the trunk pstn, for national callers and up:
    # rule _9X. {
    #     require national
    #     strip 1
    #     dial trunk:pstn:${number}
    # }
}

# Inbound calls: each trunk names the context its calls start in.
# context from-pstn {
#     rule 4930123456 {
#         if office dial ivr:500
#         dial voicemail:101
#     }
# }
`
