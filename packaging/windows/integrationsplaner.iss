; Inno Setup script: per-user installation without administrator rights, start menu entry,
; file association for bundle files (.ipbundle) and office key files (.ipkey).
; Compiled by packaging/build.py (iscc /DAppVersion=x.y.z) after the PyInstaller build.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif

[Setup]
AppId={{6C1E3B9A-52D4-4F7B-9E0A-3D2B8C7A1F55}
AppName=Integrationsplaner
AppVersion={#AppVersion}
AppPublisher=Kreisverwaltung Kaiserslautern
AppComments=Maßnahmen, Partner und Bewertungen des regionalen Integrationskonzepts
DefaultDirName={localappdata}\Programs\Integrationsplaner
DefaultGroupName=Integrationsplaner
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ChangesAssociations=yes
OutputBaseFilename=Integrationsplaner-Setup-{#AppVersion}
SetupIconFile=..\..\resources\icons\integrationsplaner.ico
UninstallDisplayIcon={app}\Integrationsplaner.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ArchitecturesInstallIn64BitMode=x64compatible

[Languages]
Name: "german"; MessagesFile: "compiler:Languages\German.isl"

[Tasks]
Name: "desktopicon"; Description: "Verknüpfung auf dem Desktop anlegen"; Flags: unchecked

[Files]
Source: "..\..\build\dist\Integrationsplaner\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "..\..\resources\icons\buendel.ico"; DestDir: "{app}"; Flags: ignoreversion

[Icons]
Name: "{group}\Integrationsplaner"; Filename: "{app}\Integrationsplaner.exe"
Name: "{group}\Integrationsplaner deinstallieren"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Integrationsplaner"; Filename: "{app}\Integrationsplaner.exe"; Tasks: desktopicon

[Registry]
; HKA = HKCU for a per-user installation, HKLM when installed for all users.
Root: HKA; Subkey: "Software\Classes\.ipbundle"; ValueType: string; ValueName: ""; ValueData: "Integrationsplaner.Buendel"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\Integrationsplaner.Buendel"; ValueType: string; ValueName: ""; ValueData: "Integrationsplaner-Bündel"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Integrationsplaner.Buendel\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\buendel.ico"
Root: HKA; Subkey: "Software\Classes\Integrationsplaner.Buendel\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\Integrationsplaner.exe"" --open ""%1"""

[Run]
Filename: "{app}\Integrationsplaner.exe"; Description: "Integrationsplaner jetzt starten"; Flags: nowait postinstall skipifsilent
