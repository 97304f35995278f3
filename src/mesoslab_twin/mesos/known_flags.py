"""The flags a Mesos 1.4 master and agent know, so the twin loads flags as stout does
(lessons-5-10-facts §6.2, §0.6): a ``MESOS_<NAME>`` environment variable is taken only when
``<name>`` (lower-cased) is a known flag, or a deprecated name of one, and is silently
ignored otherwise (``MESOS_ISOLATOR`` does nothing); an unknown ``--name`` on the command
line, or from a ``/etc/mesos-*/name`` file that ``mesos-init-wrapper`` turns into one,
stops the daemon with ``Failed to load unknown flag 'name'``.

The names are every ``add(&Flags::..., "name"[, flags::DeprecatedName("old")])`` of
apache/mesos tag 1.4.3 (the version the twin claims): src/master/flags.cpp (63),
src/slave/flags.cpp (118), src/logging/flags.cpp (6, both daemons), plus stout's own
``help`` (flags.hpp L49).
"""

from __future__ import annotations

LOGGING_FLAGS = frozenset(
    """
    external_log_file initialize_driver_logging log_dir logbufsecs logging_level quiet
    """.split()
)

_MASTER = frozenset(
    """
    acls advertise_ip advertise_port agent_ping_timeout agent_removal_rate_limit
    agent_reregister_timeout allocation_interval allocator authenticate authenticate_agents
    authenticate_frameworks authenticate_http authenticate_http_frameworks
    authenticate_http_readonly authenticate_http_readwrite authenticate_slaves
    authentication_v0_timeout authenticators authorizers cluster credentials domain
    fair_sharing_excluded_resource_names filter_gpu_resources firewall_rules
    framework_sorter hooks hostname hostname_lookup http_authenticators
    http_framework_authenticators ip ip_discovery_command log_auto_initialize
    master_contender master_detector max_agent_ping_timeouts max_completed_frameworks
    max_completed_tasks_per_framework max_executors_per_agent max_executors_per_slave
    max_slave_ping_timeouts max_unreachable_tasks_per_framework min_allocatable_resources
    modules modules_dir offer_timeout port quorum rate_limits recovery_agent_removal_limit
    recovery_slave_removal_limit registry registry_fetch_timeout registry_gc_interval
    registry_max_agent_age registry_max_agent_count registry_store_timeout registry_strict
    role_sorter roles root_submissions slave_ping_timeout slave_removal_rate_limit
    slave_reregister_timeout user_sorter version webui_dir weights whitelist work_dir zk
    zk_session_timeout
    """.split()
)

_AGENT = frozenset(
    """
    acls advertise_ip advertise_port agent_subsystems allowed_capabilities allowed_devices
    appc_simple_discovery_uri_prefix appc_store_dir attributes authenticate_http_executors
    authenticate_http_readonly authenticate_http_readwrite authenticatee
    authentication_backoff_factor authentication_timeout_max authentication_timeout_min
    authorizer bounding_capabilities cgroups_cpu_enable_pids_and_tids_count
    cgroups_enable_cfs cgroups_hierarchy cgroups_limit_swap cgroups_net_cls_primary_handle
    cgroups_net_cls_secondary_handles cgroups_root container_disk_watch_interval
    container_logger containerizers credential default_container_dns default_container_info
    default_role disallow_sharing_agent_pid_namespace disk_watch_interval docker
    docker_config docker_kill_orphans docker_mesos_image docker_registry docker_remove_delay
    docker_socket docker_stop_timeout docker_store_dir docker_volume_checkpoint_dir domain
    effective_capabilities egress_flow_classifier_parent egress_rate_limit_per_container
    egress_unique_flow_per_container enforce_container_disk_quota
    ephemeral_ports_per_container eth0_name executor_environment_variables
    executor_registration_timeout executor_reregistration_retry_interval
    executor_reregistration_timeout executor_secret_key executor_shutdown_grace_period
    fetcher_cache_dir fetcher_cache_size fetcher_stall_timeout firewall_rules
    frameworks_home gc_delay gc_disk_headroom hadoop_home hooks hostname hostname_lookup
    http_authenticators http_command_executor http_credentials http_heartbeat_interval
    image_providers image_provisioner_backend ip ip6 ip6_discovery_command
    ip_discovery_command isolation launcher launcher_dir lo_name master master_detector
    max_completed_executors_per_framework modules modules_dir network_cni_config_dir
    network_cni_plugins_dir network_cni_root_dir_persist network_enable_snmp_statistics
    network_enable_socket_statistics_details network_enable_socket_statistics_summary
    nvidia_gpu_devices oversubscribed_resources_interval perf_duration perf_events
    perf_interval port qos_controller qos_correction_interval_min recover recovery_timeout
    registration_backoff_factor resource_estimator resource_provider_config_dir resources
    revocable_cpu_low_priority runtime_dir sandbox_directory secret_resolver
    slave_subsystems strict switch_user systemd_enable_support systemd_runtime_directory
    version work_dir xfs_project_range
    """.split()
)

MASTER_FLAGS = _MASTER | LOGGING_FLAGS | {"help"}
AGENT_FLAGS = _AGENT | LOGGING_FLAGS | {"help"}


def known_flags(role: str) -> frozenset[str]:
    """The flag names ``mesos-master`` (role ``master``) or ``mesos-slave`` knows."""
    return MASTER_FLAGS if role == "master" else AGENT_FLAGS
