"""The lab: its spec, the Vagrant driver, the inventory the checks see, the doctor."""
