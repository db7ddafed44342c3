"""Console URL map."""

from django.urls import path

from linli.console.views import (
    access,
    audit,
    credentials,
    devices,
    doors,
    household_forms,
    imports,
    passes,
    people,
    people_forms,
    place_forms,
    places,
    residents,
    shell,
    tenancy_forms,
)

app_name = "console"

urlpatterns = [
    path("", shell.dashboard, name="dashboard"),
    path(
        "people/<int:person_id>/credentials/",
        credentials.credential_issue,
        name="credential_issue",
    ),
    path(
        "credentials/<int:credential_id>/status/",
        credentials.credential_status,
        name="credential_status",
    ),
    path("people/<int:person_id>/consents/", credentials.consent_record, name="consent_record"),
    path("consents/<int:consent_id>/revoke/", credentials.consent_revoke, name="consent_revoke"),
    path("access/", doors.point_list, name="access_points"),
    path("access/points/<int:point_id>/", doors.point_detail, name="access_point"),
    path("access/log/", doors.access_log, name="access_log"),
    path("me/pass/", passes.my_pass, name="my_pass"),
    path("me/pass/code", passes.my_pass_code, name="my_pass_code"),
    path("me/visitors/", passes.my_visitors, name="my_visitors"),
    path(
        "me/visitors/<int:visitor_id>/cancel/",
        passes.my_visitor_cancel,
        name="my_visitor_cancel",
    ),
    path("login/", shell.sign_in, name="login"),
    path("logout/", shell.sign_out, name="logout"),
    path("switch-community/", shell.switch_community, name="switch_community"),
    path("communities/", places.community_list, name="communities"),
    path("communities/<int:community_id>/", places.community_detail, name="community"),
    path("communities/<int:community_id>/edit/", places.community_edit, name="community_edit"),
    path("communities/<int:community_id>/rooms/import/", places.room_import, name="room_import"),
    path(
        "communities/<int:community_id>/rooms/template.xlsx",
        places.room_template,
        name="room_template",
    ),
    path(
        "communities/<int:community_id>/rooms/export.xlsx", places.room_export, name="room_export"
    ),
    path("communities/<int:community_id>/tree/", places.community_tree, name="community_tree"),
    path("rooms/<int:room_id>/", places.room_detail, name="room"),
    path(
        "communities/<int:community_id>/buildings/new/",
        place_forms.building_generate,
        name="building_generate",
    ),
    path("buildings/<int:building_id>/edit/", place_forms.building_edit, name="building_edit"),
    path(
        "buildings/<int:building_id>/delete/", place_forms.building_delete, name="building_delete"
    ),
    path("rooms/<int:room_id>/edit/", place_forms.room_edit, name="room_edit"),
    path("rooms/<int:room_id>/delete/", place_forms.room_delete, name="room_delete"),
    path("communities/<int:community_id>/areas/", place_forms.area_list, name="areas"),
    path("communities/<int:community_id>/areas/new/", place_forms.area_edit, name="area_new"),
    path(
        "communities/<int:community_id>/areas/<int:area_id>/edit/",
        place_forms.area_edit,
        name="area_edit",
    ),
    path(
        "communities/<int:community_id>/areas/<int:area_id>/delete/",
        place_forms.area_delete,
        name="area_delete",
    ),
    path("people/", people.person_list, name="people"),
    path("people/new/", people_forms.person_new, name="person_new"),
    path("people/<int:person_id>/edit/", people_forms.person_edit, name="person_edit"),
    path(
        "people/<int:person_id>/photo/upload/",
        people_forms.person_photo,
        name="person_photo_upload",
    ),
    path("people/<int:person_id>/move-in/", people_forms.move_in, name="move_in"),
    path("people/<int:person_id>/vehicles/new/", household_forms.vehicle_new, name="vehicle_new"),
    path(
        "vehicles/<int:vehicle_id>/delete/", household_forms.vehicle_delete, name="vehicle_delete"
    ),
    path("people/<int:person_id>/care/new/", household_forms.care_new, name="care_new"),
    path("care/<int:record_id>/delete/", household_forms.care_delete, name="care_delete"),
    path(
        "people/<int:person_id>/account/", household_forms.resident_account, name="resident_account"
    ),
    path(
        "residencies/<int:residency_id>/kinship/",
        household_forms.residency_kinship,
        name="residency_kinship",
    ),
    path(
        "residencies/<int:residency_id>/household/",
        household_forms.residency_household,
        name="residency_household",
    ),
    path(
        "households/<int:household_id>/head/",
        household_forms.household_head,
        name="household_head",
    ),
    path("residencies/<int:residency_id>/move-out/", people_forms.move_out, name="move_out"),
    path("people/<int:person_id>/", people.person_detail, name="person"),
    path("people/<int:person_id>/reveal/", people.person_reveal, name="person_reveal"),
    path("people/<int:person_id>/photo/", people.person_photo, name="person_photo"),
    path("population/", people.population_changes, name="population"),
    *imports.routes,
    path("population/export.xlsx", people.population_export, name="population_export"),
    path("statistics/", people.population_stats, name="population_stats"),
    path("tenancies/", people.tenancy_list, name="tenancies"),
    path("rooms/<int:room_id>/tenancy/new/", tenancy_forms.tenancy_new, name="tenancy_new"),
    path("tenancies/<int:tenancy_id>/extend/", tenancy_forms.tenancy_extend, name="tenancy_extend"),
    path("tenancies/<int:tenancy_id>/end/", tenancy_forms.tenancy_end, name="tenancy_end"),
    path("me/household/", residents.my_household, name="my_household"),
    path("devices/", devices.device_list, name="devices"),
    path("devices/new/", devices.device_new, name="device_new"),
    path("devices/<int:device_id>/", devices.device_detail, name="device"),
    path("devices/<int:device_id>/rotate/", devices.device_rotate, name="device_rotate"),
    path("devices/<int:device_id>/edit/", devices.device_edit, name="device_edit"),
    path("devices/<int:device_id>/config/", devices.device_config, name="device_config"),
    path("devices/<int:device_id>/enabled/", devices.device_enabled, name="device_enabled"),
    path("devices/<int:device_id>/command/", devices.device_command, name="device_command"),
    path("commands/<int:command_id>/cancel/", devices.command_cancel, name="command_cancel"),
    path("organisations/", access.organisation_list, name="organisations"),
    path("grants/", access.grant_list, name="grants"),
    path("grants/<int:grant_id>/", access.grant_detail, name="grant"),
    path("grants/<int:grant_id>/withdraw/", access.grant_withdraw, name="grant_withdraw"),
    path("audit/", audit.audit_list, name="audit"),
    path("audit/<int:entry_id>/", audit.audit_entry, name="audit_entry"),
    path("tokens/", access.token_list, name="tokens"),
    path("tokens/<int:token_id>/revoke/", access.token_revoke, name="token_revoke"),
]
